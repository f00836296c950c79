package console

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"
)

// streamTransport serves a streaming request (Accept: text/event-stream)
// from the sandbox's handler in this process: the answer is handed back
// as soon as its headers are written, and its body is a pipe the handler
// keeps writing to, so each frame reaches the caller when it is flushed.
// Closing the body, or ending the request's context, ends the handler.
func streamTransport(h http.Handler, r *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(r.Context())
	in := r.Clone(ctx)
	in.RequestURI = r.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	pr, pw := io.Pipe()
	sw := &pipeWriter{header: make(http.Header), pw: pw, ready: make(chan struct{})}
	go func() {
		defer cancel()
		h.ServeHTTP(sw, in)
		sw.WriteHeader(http.StatusOK)
		_ = pw.Close()
	}()
	select {
	case <-sw.ready:
	case <-ctx.Done():
		_ = pr.CloseWithError(ctx.Err())
		return nil, ctx.Err()
	}
	return &http.Response{
		Status: strconv.Itoa(sw.status) + " " + http.StatusText(sw.status), StatusCode: sw.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: sw.sent, Body: &pipeBody{pr: pr, cancel: cancel}, ContentLength: -1, Request: r,
	}, nil
}

// pipeWriter is the handler's side of a streamed answer. Writes block
// until the caller reads them, so Flush has nothing to push.
type pipeWriter struct {
	header http.Header
	pw     *io.PipeWriter
	once   sync.Once
	ready  chan struct{}
	status int
	sent   http.Header
}

func (w *pipeWriter) Header() http.Header { return w.header }

func (w *pipeWriter) WriteHeader(status int) {
	w.once.Do(func() {
		w.status, w.sent = status, w.header.Clone()
		close(w.ready)
	})
}

func (w *pipeWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.pw.Write(p)
}

// Flush sends the headers if they are not yet sent: a stream that opens
// with them tells its caller it is subscribed.
func (w *pipeWriter) Flush() { w.WriteHeader(http.StatusOK) }

var _ http.Flusher = (*pipeWriter)(nil)

// pipeBody is the caller's side; Close ends the handler.
type pipeBody struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
}

func (b *pipeBody) Read(p []byte) (int, error) { return b.pr.Read(p) }

func (b *pipeBody) Close() error {
	b.cancel()
	return b.pr.CloseWithError(io.ErrClosedPipe)
}
