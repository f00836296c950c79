package core

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
)

// ProblemBaseURI is the namespace of the problem "type" URIs the sandbox
// documents (RFC 9457 §3.1.1).
const ProblemBaseURI = "https://argus.sandbox/problems/"

// Problem is an RFC 9457 problem details object, the one error shape of every
// REST surface. Code is a stable machine-readable extension member.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	Code      string       `json:"code"`
	RequestID string       `json:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
	// ErrorsOmitted counts the field errors left out of Errors, which
	// lists at most MaxProblemErrors.
	ErrorsOmitted int `json:"errors_omitted,omitempty"`
	// Extra carries documented, problem-specific members (for example
	// "access_request_url" on review_required).
	Extra map[string]any `json:"-"`
	// Header is added to the response (for example Retry-After, Allow).
	Header http.Header `json:"-"`
}

// MaxProblemErrors bounds the field errors a problem lists; the rest are
// counted in errors_omitted. A request with thousands of unknown fields
// gets an answer of a few kilobytes, and collecting stops at the bound.
const MaxProblemErrors = 20

// FieldError names one offending field of a request.
type FieldError struct {
	// Field is a JSON pointer into the body ("/name"), or "query.limit",
	// "path.id", "header.Authorization".
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error makes a Problem usable as an error value.
func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// NewProblem builds a problem whose type URI derives from code.
func NewProblem(status int, code, title, detail string) *Problem {
	return &Problem{Type: ProblemBaseURI + code, Title: title, Status: status, Code: code, Detail: detail}
}

// WithField appends a field error and returns p.
func (p *Problem) WithField(field, reason string) *Problem {
	p.Errors = append(p.Errors, FieldError{Field: field, Reason: reason})
	return p
}

// NotFoundProblem is the generic 404 problem; a foreign tenant's resource
// gets the same answer as a missing one.
func NotFoundProblem(detail string) *Problem {
	return NewProblem(http.StatusNotFound, "not_found", "Resource not found", detail)
}

// WriteProblem writes p as application/problem+json. It is the single writer
// of REST errors.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if r != nil {
		noteErrorCode(r.Context(), p.Code)
	}
	if p.RequestID == "" && r != nil {
		p.RequestID = RequestIDFrom(r.Context())
	}
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	if n := len(p.Errors); n > MaxProblemErrors {
		p.Errors, p.ErrorsOmitted = p.Errors[:MaxProblemErrors], p.ErrorsOmitted+n-MaxProblemErrors
	}
	body := map[string]any{}
	raw, _ := json.Marshal(p)
	_ = json.Unmarshal(raw, &body)
	for k, v := range p.Extra {
		body[k] = v
	}
	// Title and detail are display text in the request's locale; every
	// other member, code first, is canonical English whatever the locale.
	lang := Locale(r)
	title, detail := localizeProblem(lang, p)
	body["title"] = title
	if detail != "" {
		body["detail"] = detail
	}
	out, _ := json.Marshal(body)
	h := w.Header()
	for k, vs := range p.Header {
		h[k] = vs
	}
	SetContentLanguage(w, lang)
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_, _ = w.Write(out)
}

// WriteSecretJSON writes a response that carries a credential (a client
// secret, a token, a signing secret) with Cache-Control: no-store, as RFC
// 6749 §5.1 asks of token responses.
func WriteSecretJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	WriteJSON(w, status, v)
}

// WriteJSON writes v as application/json with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	jb := jsonBuffers.Get().(*jsonBuffer)
	defer jb.release()
	if err := jb.enc.Encode(v); err != nil {
		WriteProblem(w, nil, NewProblem(http.StatusInternalServerError, "internal_error", "Internal error", "the response could not be encoded"))
		return
	}
	// Encode ends the value with a newline, which json.Marshal does not.
	out := jb.buf.Bytes()
	out = out[:len(out)-1]
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	_, _ = w.Write(out) // Write does not keep out (io.Writer)
}

// jsonBuffer is an encoder with its output buffer, reused across responses
// so that encoding a response allocates neither.
type jsonBuffer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// maxPooledJSON bounds the buffers kept for reuse; a larger one (a big
// listing) is left to the garbage collector.
const maxPooledJSON = 64 << 10

var jsonBuffers = sync.Pool{New: func() any {
	jb := &jsonBuffer{}
	jb.enc = json.NewEncoder(&jb.buf)
	return jb
}}

func (jb *jsonBuffer) release() {
	if jb.buf.Cap() > maxPooledJSON {
		return
	}
	jb.buf.Reset()
	jsonBuffers.Put(jb)
}
