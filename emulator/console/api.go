package console

import (
	"errors"
	"net/http"
	"net/http/httptest"

	"github.com/knogin/argus-sandbox/client"
)

// handlerTransport serves client requests from the sandbox's handler in
// this process: the console calls the same API, with the same
// authentication, validation and fault rules, as any client over the
// network, without a socket.
type handlerTransport struct{ h http.Handler }

// RoundTrip serves one request; a stream is served as it is written.
func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Accept") == "text/event-stream" {
		return streamTransport(t.h, r)
	}
	in := r.Clone(r.Context())
	in.RequestURI = r.URL.RequestURI()
	in.RemoteAddr = "127.0.0.1:0"
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

var _ http.RoundTripper = handlerTransport{}

// noRedirects hands a redirect back to the caller: the API answers none
// the console should follow.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// api is a client of the sandbox for one console request: the control
// plane with bearer, the tenant APIs with tenantToken. It names the host
// the console request came to, which passed the same Host check.
func (c *Console) api(r *http.Request, bearer, tenantToken string) *client.Client {
	return client.New("http://"+r.Host, client.WithHTTPClient(c.inproc),
		client.WithOperatorToken(bearer), client.WithToken(tenantToken))
}

// errNoTenant is a tenant the session may not see, or that does not exist.
var errNoTenant = errors.New("no such tenant")

// tenant resolves the {tenant} of the path for the session.
func (c *Console) tenant(r *http.Request, s *session) (Tenant, error) {
	id := r.PathValue("tenant")
	for _, t := range c.cfg.Tenants {
		if t.ID == id && s.who.allows(id) {
			return t, nil
		}
	}
	return Tenant{}, errNoTenant
}

// tenants are the tenants the session may see.
func (c *Console) tenants(s *session) []Tenant {
	var out []Tenant
	for _, t := range c.cfg.Tenants {
		if s.who.allows(t.ID) {
			out = append(out, t)
		}
	}
	return out
}

// apiStatus is the HTTP status to answer for a failed API call: the API's
// own for a refusal it answered, 502 otherwise.
func apiStatus(err error) int {
	if e, ok := errors.AsType[*client.Error](err); ok && e.Status >= 400 {
		return e.Status
	}
	return http.StatusBadGateway
}
