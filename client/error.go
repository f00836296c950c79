package client

import (
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// Error is a refusal of the sandbox: any answer other than the one the
// operation promises on success. It carries the error model of the API
// that answered: an RFC 9457 problem (REST APIs and the control plane), an
// RFC 6749 §5.2 error (OAuth endpoints) or the first GraphQL error.
// Retrieve it with errors.As.
type Error struct {
	// Method and Path are the request's (without the query).
	Method string
	Path   string
	// Status is the HTTP status.
	Status int
	// Code is the stable machine-readable reason: the problem's code
	// (invalid_request, not_found…), the OAuth error (invalid_client…) or
	// the GraphQL error's extensions.code (UNAUTHENTICATED…).
	Code string
	// Title is the problem's title.
	Title string
	// Detail explains this occurrence: the problem's detail, the OAuth
	// error_description or the GraphQL error's message.
	Detail string
	// Errors names each offending field of an invalid request.
	Errors []FieldError
	// RequestID is the X-Request-Id of the answer, to quote in a report.
	RequestID string
	// Body is the start of an answer that is none of the above (a
	// gateway's HTML page, a fault rule's malformed reply).
	Body string
}

// FieldError names one offending field of a refused request, by JSON
// pointer (or parameter name) as the sandbox reports it.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error reads "POST /_sandbox/faults: 400 invalid_request: detail
// (/when/probability: maximum: got 2, want 1)".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Method + " " + e.Path + ": " + strconv.Itoa(e.Status))
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	switch {
	case e.Detail != "":
		b.WriteString(": " + e.Detail)
	case e.Title != "":
		b.WriteString(": " + e.Title)
	case e.Body != "":
		b.WriteString(": " + e.Body)
	}
	if len(e.Errors) > 0 {
		b.WriteString(" (")
		for i, f := range e.Errors {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(f.Field + ": " + f.Reason)
		}
		b.WriteString(")")
	}
	return b.String()
}

// errorBody is the union of the three error models; "errors" is a list of
// field errors in a problem and of GraphQL errors in a GraphQL answer.
type errorBody struct {
	Code      string          `json:"code"`
	Title     string          `json:"title"`
	Detail    string          `json:"detail"`
	RequestID string          `json:"request_id"`
	Errors    json.RawMessage `json:"errors"`
	// RFC 6749 §5.2.
	OAuthError  string `json:"error"`
	Description string `json:"error_description"`
}

// graphQLError is the part of a GraphQL error an Error carries.
type graphQLError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

// bodyShown bounds the raw body an Error keeps.
const bodyShown = 512

func newError(method, path string, resp *http.Response, data []byte) *Error {
	e := &Error{Method: method, Path: path, Status: resp.StatusCode, RequestID: resp.Header.Get("X-Request-Id")}
	var b errorBody
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	isJSON := mt == "application/json" || strings.HasSuffix(mt, "+json")
	if !isJSON || json.Unmarshal(data, &b) != nil {
		e.Body = shown(data)
		return e
	}
	e.Code, e.Title, e.Detail = b.Code, b.Title, b.Detail
	if e.RequestID == "" {
		e.RequestID = b.RequestID
	}
	if b.OAuthError != "" {
		e.Code, e.Detail = b.OAuthError, b.Description
	}
	if len(b.Errors) > 0 {
		var fields []FieldError
		var gql []graphQLError
		switch {
		case json.Unmarshal(b.Errors, &fields) == nil && len(fields) > 0 && fields[0].Field != "":
			e.Errors = fields
		case json.Unmarshal(b.Errors, &gql) == nil && len(gql) > 0:
			if e.Code == "" {
				e.Code = gql[0].Extensions.Code
			}
			if e.Detail == "" {
				e.Detail = gql[0].Message
			}
		}
	}
	if e.Code == "" && e.Title == "" && e.Detail == "" && len(e.Errors) == 0 {
		e.Body = shown(data)
	}
	return e
}

// shown is the start of a body as readable text.
func shown(data []byte) string {
	return strings.TrimSpace(strings.ToValidUTF8(string(data[:min(len(data), bodyShown)]), ""))
}
