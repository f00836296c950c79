package core

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// RequestRecord is what the router knows about a request once it has been
// answered: the input of RouterConfig.Observe and of the request log line.
type RequestRecord struct {
	// Start is when the router received the request (real time) and
	// Latency how long answering it took.
	Start   time.Time
	Latency time.Duration
	// RequestID is the request's X-Request-Id.
	RequestID string
	Method    string
	Path      string
	// API and OperationID name the routed operation; both are empty when
	// no operation matched (404, 405, 421).
	API         string
	OperationID string
	// Principal is who the request was authenticated as (nil when the
	// operation is anonymous or authentication failed).
	Principal *Principal
	Status    int
	// ErrorCode is the machine-readable code of an error answer: the
	// problem's code, or the RFC 6749 error of the OAuth surface.
	ErrorCode string
	// Replayed says the answer was replayed for a repeated Idempotency-Key
	// (ReplayedHeader): the request changed nothing.
	Replayed bool
	// Body is the request body as the router buffered it for validation
	// (JSON and form bodies); nil when the router did not read it. It is
	// the router's buffer: an observer that keeps it must copy it.
	Body []byte
}

// Tenant is the tenant of the request's principal ("" when none).
func (rec *RequestRecord) Tenant() string {
	if rec.Principal == nil {
		return ""
	}
	return rec.Principal.Tenant
}

// errorPrefix is how much of an error answer the router keeps to find its
// code when the writer did not report it (the OAuth surface's RFC 6749
// errors): encoders put "code" and "error" first.
const errorPrefix = 256

// statusWriter remembers the status of the answer and the start of an
// error body. It lives inside requestState, so observing a request costs
// no allocation of its own.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int
	prefix [errorPrefix]byte
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.status >= 400 && w.n < errorPrefix {
		w.n += copy(w.prefix[w.n:], b)
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets a streaming handler (Server-Sent Events) push what it wrote.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// errorCode finds the "code" (problem+json) or "error" (RFC 6749) member
// at the start of an error body.
func (w *statusWriter) errorCode() string {
	b := w.prefix[:w.n]
	for _, key := range []string{`"code":"`, `"error":"`} {
		if i := bytes.Index(b, []byte(key)); i >= 0 {
			rest := b[i+len(key):]
			if j := bytes.IndexByte(rest, '"'); j > 0 {
				return string(rest[:j])
			}
		}
	}
	return ""
}

// StatusClientClosedRequest is the status the journal records for a
// request whose client went away before anything was answered (nginx's
// 499): no HTTP answer was sent.
const StatusClientClosedRequest = 499

// ReplayedHeader is "true" on an answer replayed for a repeated
// Idempotency-Key (set by the idempotency layer, read by the journal).
const ReplayedHeader = "Idempotent-Replayed"

// noteErrorCode records the code of an error answer on the request's
// state, when the request is served by the Router.
func noteErrorCode(ctx context.Context, code string) {
	if st, ok := ctx.(*requestState); ok && st.errCode == "" {
		st.errCode = code
	}
}

// observing reports whether requests are recorded or logged: when neither
// is, the router takes no time and wraps no writer.
func (rt *Router) observing(ctx context.Context) bool {
	return rt.cfg.Observe != nil || rt.log.Enabled(ctx, slog.LevelInfo)
}

// finish records and logs a request the router has answered.
func (rt *Router) finish(st *requestState, r *http.Request, start time.Time) {
	rec := RequestRecord{
		Start: start, Latency: time.Since(start), RequestID: st.id,
		Method: r.Method, Path: r.URL.Path, Principal: st.principal,
		Status: st.w.status, ErrorCode: st.errCode, Body: st.body,
	}
	if rec.Status == 0 {
		// Nothing was written: net/http answers 200 for a handler that
		// returns, unless the client went first (a fault's latency it did
		// not wait out), when nothing was answered at all.
		rec.Status = http.StatusOK
		if r.Context().Err() != nil {
			rec.Status, rec.ErrorCode = StatusClientClosedRequest, "client_closed_request"
		}
	}
	if st.op != nil {
		rec.API, rec.OperationID = st.op.API, st.op.OperationID
	}
	rec.Replayed = st.w.Header().Get(ReplayedHeader) == "true"
	if rec.Status >= 400 && rec.ErrorCode == "" {
		rec.ErrorCode = st.w.errorCode()
	}
	if rt.cfg.Observe != nil {
		rt.cfg.Observe(r, rec)
	}
	rt.logRequest(st, r, &rec)
}

// logRequest writes the one info line of a request; at debug level it
// carries the request headers, credentials redacted. It hands the record
// to the handler itself: Logger.LogAttrs would walk the stack for a
// source position no request line shows.
func (rt *Router) logRequest(ctx context.Context, r *http.Request, rec *RequestRecord) {
	h := rt.log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	lr := slog.NewRecord(rec.Start.Add(rec.Latency), slog.LevelInfo, "request", 0)
	lr.AddAttrs(
		slog.String("method", rec.Method),
		slog.String("path", rec.Path),
		slog.String("operation", rec.OperationID),
		slog.Int("status", rec.Status),
		slog.Float64("latency_ms", float64(rec.Latency.Microseconds())/1000),
		slog.String("tenant", rec.Tenant()),
		slog.String("request_id", rec.RequestID),
	)
	if h.Enabled(ctx, slog.LevelDebug) {
		lr.AddAttrs(slog.Any("headers", LoggableHeaders(r.Header)))
	}
	_ = h.Handle(ctx, lr)
}

// secretHeaders are the request headers a log never shows.
var secretHeaders = map[string]bool{"Authorization": true, "Proxy-Authorization": true, "Cookie": true, "Set-Cookie": true}

// RedactedValue replaces a credential wherever the sandbox logs or records
// a request.
const RedactedValue = "[redacted]"

// LoggableHeaders returns h with credentials (Authorization, Cookie)
// replaced by RedactedValue, as a map a log handler prints.
func LoggableHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		v := strings.Join(vs, ", ")
		if secretHeaders[http.CanonicalHeaderKey(k)] {
			v = RedactedValue
		}
		out[k] = v
	}
	return out
}
