package idempotency

import (
	"bytes"
	"io"
	"net/http"
)

// recorder passes the first answer through to the client and keeps a copy.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// replayedHeaders are the response headers a replay repeats: what describes
// the body and the resource, not what belongs to one exchange (the request
// ID, a fault marker, rate-limit counters).
var replayedHeaders = []string{"Content-Type", "Location", "Cache-Control", "Pragma", "Content-Language"}

// response snapshots the answer.
func (r *recorder) response() Response {
	h := http.Header{}
	for _, k := range replayedHeaders {
		if vs := r.ResponseWriter.Header().Values(k); len(vs) > 0 {
			h[k] = append([]string(nil), vs...)
		}
	}
	return Response{Status: r.status, Header: h, Body: bytes.Clone(r.body.Bytes())}
}

func readAll(r *http.Request) ([]byte, error) {
	defer r.Body.Close()
	return io.ReadAll(r.Body)
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
