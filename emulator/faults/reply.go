package faults

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// reply applies a reply-shaping action.
func (e *Engine) reply(w http.ResponseWriter, r *http.Request, op core.OperationInfo, a Action, next http.Handler) {
	switch {
	case a.Error != nil:
		e.writeError(w, r, op, *a.Error)
	case a.Reset != nil:
		if a.Reset.Processed {
			next.ServeHTTP(newCapture(), r)
		}
		drop(w, true)
	case a.EmptyReply != nil:
		if a.EmptyReply.Processed {
			next.ServeHTTP(newCapture(), r)
		}
		drop(w, false)
	case a.Truncate != nil:
		c := serve(next, r)
		cut := len(c.body.Bytes()) / 2
		if a.Truncate.Bytes != nil {
			cut = min(*a.Truncate.Bytes, c.body.Len())
		}
		declared := max(c.body.Len(), cut+1)
		// The declared Content-Length exceeds what is sent, so net/http
		// closes the connection after the handler returns and the client
		// sees an unexpected EOF, as when a proxy dies mid-response.
		c.writeHead(w, declared)
		_, _ = w.Write(c.body.Bytes()[:cut])
	case a.Malformed != nil:
		c := serve(next, r)
		// Half a JSON document is well-framed but never parses.
		body := c.body.Bytes()[:c.body.Len()/2]
		if len(body) == 0 {
			body = []byte("{")
		}
		c.writeHead(w, len(body))
		_, _ = w.Write(body)
	case a.SlowDrip != nil:
		e.drip(w, r, serve(next, r), *a.SlowDrip)
	}
}

// drop closes the connection without a reply. reset sets SO_LINGER to 0 so
// the kernel sends a TCP RST instead of a FIN.
func drop(w http.ResponseWriter, reset bool) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2 cannot hijack: aborting the handler resets the stream.
		panic(http.ErrAbortHandler)
	}
	if tcp, ok := conn.(*net.TCPConn); ok && reset {
		_ = tcp.SetLinger(0)
	}
	_ = conn.Close()
}

// drip sends the head and the first chunk at once, then one chunk per
// interval on the sandbox clock, in at most MaxRequestWait.
func (e *Engine) drip(w http.ResponseWriter, r *http.Request, c *capture, d SlowDrip) {
	chunk := d.ChunkBytes
	if chunk <= 0 {
		chunk = DefaultChunkBytes
	}
	interval := time.Duration(d.Interval)
	if interval <= 0 {
		interval = DefaultDripInterval
	}
	body := c.body.Bytes()
	// A long body would drip for longer than MaxRequestWait: wider chunks
	// keep the total within it (the first chunk goes out at once).
	if steps := max(1, int(MaxRequestWait/interval)); steps < (len(body)-1)/chunk {
		chunk = (len(body)-1)/steps + 1
	}
	rc := http.NewResponseController(w)
	c.writeHead(w, len(body))
	for i := 0; i < len(body); i += chunk {
		if i > 0 && !e.sleep(r.Context(), interval) {
			return
		}
		if _, err := w.Write(body[i:min(i+chunk, len(body))]); err != nil {
			return
		}
		_ = rc.Flush()
	}
}

// writeError answers with an error status as the platform or its gateway
// would: 502/504 as an HTML gateway page, the others in the surface's own
// error format through its error writer.
func (e *Engine) writeError(w http.ResponseWriter, r *http.Request, op core.OperationInfo, er ErrorReply) {
	h := w.Header()
	switch er.Status {
	case http.StatusBadGateway, http.StatusGatewayTimeout:
		text := fmt.Sprintf("%d %s", er.Status, http.StatusText(er.Status))
		if er.Status == http.StatusGatewayTimeout {
			text = "504 Gateway Time-out" // the spelling nginx uses
		}
		body := "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text +
			"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
		h.Set("Content-Type", "text/html")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		h.Set("Server", "nginx")
		w.WriteHeader(er.Status)
		_, _ = w.Write([]byte(body))
		return
	}
	re := &core.RequestError{Status: er.Status, Header: http.Header{}}
	retry := time.Duration(er.RetryAfter)
	if retry <= 0 {
		retry = DefaultRetryAfter
	}
	secs := strconv.Itoa(int((retry + time.Second - 1) / time.Second))
	switch er.Status {
	case http.StatusServiceUnavailable:
		re.Code = "service_unavailable"
		re.Detail = "the service is temporarily unavailable; retry after " + secs + " seconds"
		// RFC 9110 §10.2.3.
		re.Header.Set("Retry-After", secs)
	case http.StatusTooManyRequests:
		limit := er.Limit
		if limit <= 0 {
			limit = DefaultRateLimit
		}
		reset := e.cfg.Clock.Now().Add(retry).Unix()
		re.Code = "rate_limited"
		re.Detail = "rate limit of " + strconv.Itoa(limit) + " requests exceeded; retry after " + secs + " seconds"
		// RFC 6585 §4 with Retry-After, the IETF RateLimit header fields
		// (draft-ietf-httpapi-ratelimit-headers) and the X-RateLimit-*
		// fields most SDKs still read.
		re.Header.Set("Retry-After", secs)
		re.Header.Set("RateLimit-Limit", strconv.Itoa(limit))
		re.Header.Set("RateLimit-Remaining", "0")
		re.Header.Set("RateLimit-Reset", secs)
		re.Header.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		re.Header.Set("X-RateLimit-Remaining", "0")
		re.Header.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	default:
		re.Code = "internal_error"
		re.Detail = "the service failed while serving this request"
	}
	// The operation's own error writer makes an injected error read like
	// the surface's (RFC 6749 on OAuth, a GraphQL error on GraphQL).
	if op.Errors != nil {
		op.Errors(w, r, re)
		return
	}
	core.WriteRequestProblem(w, r, re)
}

// capture records a handler's reply so it can be reshaped.
type capture struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func newCapture() *capture { return &capture{header: http.Header{}, status: http.StatusOK} }

func serve(next http.Handler, r *http.Request) *capture {
	c := newCapture()
	next.ServeHTTP(c, r)
	return c
}

func (c *capture) Header() http.Header         { return c.header }
func (c *capture) Write(b []byte) (int, error) { c.wrote = true; return c.body.Write(b) }
func (c *capture) Flush()                      {}

// WriteHeader keeps the first status, as net/http does.
func (c *capture) WriteHeader(status int) {
	if !c.wrote {
		c.status, c.wrote = status, true
	}
}

// writeHead copies the captured head to w, declaring length body bytes.
func (c *capture) writeHead(w http.ResponseWriter, length int) {
	h := w.Header()
	for k, vs := range c.header {
		h[k] = vs
	}
	h.Set("Content-Length", strconv.Itoa(length))
	w.WriteHeader(c.status)
}
