package graphql

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Error codes sent in extensions.code. They are part of the contract.
const (
	CodeUnauthenticated    = "UNAUTHENTICATED"
	CodeForbidden          = "FORBIDDEN"
	CodeNotFound           = "NOT_FOUND"
	CodeBadUserInput       = "BAD_USER_INPUT"
	CodeParseFailed        = "GRAPHQL_PARSE_FAILED"
	CodeValidationFailed   = "GRAPHQL_VALIDATION_FAILED"
	CodeTooComplex         = "QUERY_TOO_COMPLEX"
	CodePersistedNotFound  = "PERSISTED_QUERY_NOT_FOUND"
	CodeBadRequest         = "BAD_REQUEST"
	CodeInternal           = "INTERNAL_SERVER_ERROR"
	CodeLimitReached       = "LIMIT_REACHED" // a change would store more than allowed (errLimit)
	codeUnavailable        = "SERVICE_UNAVAILABLE"
	codeMethodNotAllowed   = "METHOD_NOT_ALLOWED"
	codeUnsupportedMedia   = "UNSUPPORTED_MEDIA_TYPE"
	codeRequestTooLarge    = "REQUEST_TOO_LARGE"
	codeOperationNotFound  = "OPERATION_NOT_FOUND"
	codeOperationAmbiguous = "OPERATION_NAME_REQUIRED"
)

// gqlError is one entry of a response's "errors" list (GraphQL spec §7.1.2).
type gqlError struct {
	Message    string         `json:"message"`
	Locations  []location     `json:"locations,omitempty"`
	Path       []any          `json:"path,omitempty"`
	Extensions map[string]any `json:"extensions"`
}

type location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

func newError(code, message string) *gqlError {
	return &gqlError{Message: message, Extensions: map[string]any{"code": code}}
}

func (e *gqlError) at(pos *ast.Position) *gqlError {
	if pos != nil {
		e.Locations = append(e.Locations, location{Line: pos.Line, Column: pos.Column})
	}
	return e
}

func (e *gqlError) with(key string, v any) *gqlError {
	e.Extensions[key] = v
	return e
}

// fieldError is what resolvers return for errors the client may see; any
// other error is logged and reported as INTERNAL_SERVER_ERROR without its
// message.
type fieldError struct {
	code    string
	message string
	// limit and max are the extensions of CodeLimitReached.
	limit string
	max   int
}

func (e *fieldError) Error() string { return e.message }

func errNotFound(what string) error {
	return &fieldError{code: CodeNotFound, message: "no " + what + " with this id"}
}

func errInput(message string) error {
	return &fieldError{code: CodeBadUserInput, message: message}
}

// errLimit refuses a change that would store more than a tenant may, like
// the REST surfaces' limit_reached: extensions.limit names the limit and
// extensions.max is its value.
func errLimit(limit string, max int, message string) error {
	return &fieldError{code: CodeLimitReached, message: message, limit: limit, max: max}
}

// gqlError is the wire error of e.
func (e *fieldError) gqlError() *gqlError {
	out := newError(e.code, e.message)
	if e.limit != "" {
		out.with("limit", e.limit).with("max", e.max)
	}
	return out
}

// fromGQLParser converts parser and validator errors, keeping only the
// message and locations (the Rule name is internal).
func fromGQLParser(err *gqlerror.Error, code string) *gqlError {
	out := newError(code, err.Message)
	for _, l := range err.Locations {
		out.Locations = append(out.Locations, location{Line: l.Line, Column: l.Column})
	}
	return out
}

// writeRequestError is the API's core.ErrorWriter: requests refused by the
// router (authentication, body validation, media type) get a GraphQL-shaped
// body; headers such as the RFC 6750 §3 WWW-Authenticate challenge are kept.
func writeRequestError(w http.ResponseWriter, r *http.Request, e *core.RequestError) {
	var ge *gqlError
	switch e.Code {
	case "unauthorized", "invalid_token":
		ge = newError(CodeUnauthenticated, "a valid bearer access token for the GraphQL resource is required")
	case "insufficient_scope":
		ge = newError(CodeForbidden, "the access token lacks a required scope: "+e.Scope)
	case "unsupported_media_type":
		ge = newError(codeUnsupportedMedia, "send the request as application/json")
	case "request_too_large":
		ge = newError(codeRequestTooLarge, e.Detail)
	case "method_not_allowed":
		ge = newError(codeMethodNotAllowed, "send GraphQL requests with POST")
	case "not_found":
		ge = newError(CodeNotFound, "no such endpoint")
	case "service_unavailable", "rate_limited":
		// Injected outages and rate limits keep their status and say so.
		ge = newError(codeUnavailable, e.Detail)
	case "internal_error":
		ge = newError(CodeInternal, "the server failed while serving this request")
	case "idempotency_key_reused":
		ge = newError(CodeIdempotencyKeyReused, e.Detail)
	case "idempotency_key_in_progress":
		ge = newError(CodeIdempotencyKeyInProgress, e.Detail)
	default:
		if isBatch(r) {
			ge = newError(CodeBadRequest, "batched requests are not supported: send one operation per request")
			break
		}
		ge = newError(CodeBadRequest, requestMessage(e.Fields))
		if len(e.Fields) > 0 {
			fields := make([]map[string]string, 0, len(e.Fields))
			for _, f := range e.Fields {
				fields = append(fields, map[string]string{"field": f.Field, "reason": f.Reason})
			}
			ge.with("fields", fields)
		}
	}
	for k, vs := range e.Header {
		w.Header()[k] = vs
	}
	writeResponse(w, r, e.Status, &response{errors: []*gqlError{ge}})
}

// requestMessage explains a refused request: a token or parameters in the
// query string (the router refuses them before the body is looked at) get
// their own message naming the parameter; anything else is the body's fault.
func requestMessage(fields []core.FieldError) string {
	var params []string
	for _, f := range fields {
		name, ok := strings.CutPrefix(f.Field, "query.")
		if !ok {
			continue
		}
		if name == "access_token" {
			// RFC 6750 §2.3 allows it; the Argus contract does not.
			return "bearer tokens are accepted only in the Authorization header, never in the query string (access_token)"
		}
		params = append(params, name+" ("+f.Reason+")")
	}
	if len(params) > 0 {
		return "query parameters are not accepted: " + strings.Join(params, ", ") + "; send query, variables, operationName and extensions in the JSON body"
	}
	return "the body must be a JSON object with query, variables, operationName and extensions"
}

// isBatch reports whether the refused body was a JSON array: the validator
// leaves the body readable again after it has read it.
func isBatch(r *http.Request) bool {
	if r.Body == nil {
		return false
	}
	head, _ := io.ReadAll(io.LimitReader(r.Body, 64))
	head = bytes.TrimLeft(head, " \t\r\n")
	return len(head) > 0 && head[0] == '['
}

// mediaType negotiates the response media type (GraphQL over HTTP §6.4):
// application/graphql-response+json when the client accepts it, otherwise
// application/json.
func mediaType(r *http.Request) string {
	if r != nil && strings.Contains(r.Header.Get("Accept"), mediaGraphQLResponse) {
		return mediaGraphQLResponse
	}
	return "application/json"
}

const mediaGraphQLResponse = "application/graphql-response+json"

// buffers recycles the buffers request bodies are read into and responses
// written from; a new one starts at 1 KiB, which typical bodies and
// responses fit without regrowing.
var buffers = sync.Pool{New: func() any {
	b := new(bytes.Buffer)
	b.Grow(1 << 10)
	return b
}}

// maxPooledBuffer bounds the buffers kept for reuse, so that a rare huge
// body or response does not pin its memory.
const maxPooledBuffer = 1 << 16

// putBuffer gives buf back to buffers, unless it grew beyond
// maxPooledBuffer.
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		buf.Reset()
		buffers.Put(buf)
	}
}

// Header values of every response, shared rather than allocated per
// response; nothing writes into a header's value slice.
var (
	contentTypeJSON            = []string{"application/json; charset=utf-8"}
	contentTypeGraphQLResponse = []string{mediaGraphQLResponse + "; charset=utf-8"}
	cacheNoStore               = []string{"no-store"}
)

// writeResponse is the surface's single writer of GraphQL responses.
func writeResponse(w http.ResponseWriter, r *http.Request, status int, resp *response) {
	buf := buffers.Get().(*bytes.Buffer)
	defer putBuffer(buf)
	buf.WriteByte('{')
	if len(resp.errors) > 0 {
		buf.WriteString(`"errors":`)
		raw, _ := json.Marshal(resp.errors)
		buf.Write(raw)
		if resp.hasData {
			buf.WriteByte(',')
		}
	}
	if resp.hasData {
		buf.WriteString(`"data":`)
		buf.Write(resp.data)
	}
	buf.WriteByte('}')
	h := w.Header()
	if mediaType(r) == mediaGraphQLResponse {
		h["Content-Type"] = contentTypeGraphQLResponse
	} else {
		h["Content-Type"] = contentTypeJSON
	}
	h["Cache-Control"] = cacheNoStore
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
