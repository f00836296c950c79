package oauth

import (
	"fmt"
	"net/http"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Error codes of RFC 6749 §4.1.2.1 and §5.2, RFC 7009 §2.2.1 and RFC 8707 §2.
const (
	CodeInvalidRequest          = "invalid_request"
	CodeInvalidClient           = "invalid_client"
	CodeInvalidGrant            = "invalid_grant"
	CodeUnauthorizedClient      = "unauthorized_client"
	CodeUnsupportedGrantType    = "unsupported_grant_type"
	CodeInvalidScope            = "invalid_scope"
	CodeInvalidTarget           = "invalid_target"
	CodeAccessDenied            = "access_denied"
	CodeUnsupportedResponseType = "unsupported_response_type"
	CodeServerError             = "server_error"
	// CodeTemporarilyUnavailable is RFC 6749 §4.1.2.1's code for an
	// overloaded or unavailable server; the token endpoint uses it for
	// 503 and 429 replies.
	CodeTemporarilyUnavailable = "temporarily_unavailable"
)

// Error is an OAuth 2 error response (RFC 6749 §5.2). It is the one wire
// error of this surface: handlers return it and writeError writes it.
type Error struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	// Header is added to the response (WWW-Authenticate, Allow).
	Header http.Header `json:"-"`
}

// Error makes *Error an error value.
func (e *Error) Error() string { return e.Code + ": " + e.Description }

func newError(code, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: code, Description: fmt.Sprintf(format, args...)}
}

// errInvalidClient is the 401 answer of RFC 6749 §5.2: the challenge is
// sent whatever method the client tried, since HTTP requires it on a 401.
func errInvalidClient(desc string) *Error {
	return &Error{Status: http.StatusUnauthorized, Code: CodeInvalidClient, Description: desc,
		Header: http.Header{"Www-Authenticate": {`Basic realm="argus", charset="UTF-8"`}}}
}

func errServer(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Code: CodeServerError,
		Description: "the sandbox failed to serve this request: " + err.Error()}
}

// noStore marks a response as carrying credentials (RFC 6749 §5.1).
func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// writeError writes e as the JSON error of RFC 6749 §5.2.
func writeError(w http.ResponseWriter, e *Error) {
	h := w.Header()
	for k, vs := range e.Header {
		h[k] = vs
	}
	noStore(h)
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	core.WriteJSON(w, status, e)
}

// writeRequestError turns errors the router raised before a handler ran
// into the OAuth error shape, so no problem+json ever leaves this surface.
// The authorization endpoint answers a browser, so it gets an HTML page.
func (s *Service) writeRequestError(w http.ResponseWriter, r *http.Request, re *core.RequestError) {
	e := &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Description: re.Detail, Header: re.Header}
	switch {
	case re.Status == http.StatusMethodNotAllowed, re.Status == http.StatusRequestEntityTooLarge:
		e.Status = re.Status
	case re.Status == http.StatusUnauthorized, re.Status == http.StatusForbidden:
		e.Status, e.Code = http.StatusUnauthorized, CodeInvalidClient
	case re.Status == http.StatusTooManyRequests, re.Status == http.StatusServiceUnavailable:
		// An outage or a rate limit (injected faults) keeps its status.
		e.Status, e.Code = re.Status, CodeTemporarilyUnavailable
	case re.Status >= 500:
		e.Status, e.Code = re.Status, CodeServerError
	}
	if d, ok := missingBody(r.URL.Path, re); ok {
		e.Description = d
	} else {
		for _, f := range re.Fields {
			e.Description += "; " + f.Field + ": " + f.Reason
		}
	}
	if r.URL.Path == authorizePath {
		s.pages.errorPage(w, e.Status, e.Code, e.Description)
		return
	}
	writeError(w, e)
}

// requiredParameter names the parameter each form endpoint cannot do
// without: RFC 6749 §4.1.3/§4.4.2 (grant_type), RFC 7009 §2.1 and RFC 7662
// §2.1 (token).
var requiredParameter = map[string]string{
	"/v1/oauth/token":      "grant_type",
	"/v1/oauth/revoke":     "token",
	"/v1/oauth/introspect": "token",
}

// missingBody explains an empty body the way the handler explains a body
// without the parameter, so both answer the same invalid_request.
func missingBody(path string, re *core.RequestError) (string, bool) {
	name, ok := requiredParameter[path]
	if !ok || re.Status != http.StatusBadRequest || len(re.Fields) != 1 || re.Fields[0].Reason != "a request body is required" {
		return "", false
	}
	return name + " is required", true
}
