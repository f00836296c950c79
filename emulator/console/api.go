package console

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"

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
	return c.lookup(r, s, r.PathValue("tenant"))
}

// lookup finds the tenant id for the session: a configured tenant, whose
// admin token the console holds, or one created at run time that the
// session's token may read (GET /_sandbox/tenants/{id}), read-only: the
// console never sees a runtime tenant's admin token.
func (c *Console) lookup(r *http.Request, s *session, id string) (Tenant, error) {
	if id == "" || !s.who.allows(id) {
		return Tenant{}, errNoTenant
	}
	for _, t := range c.cfg.Tenants {
		if t.ID == id {
			return t, nil
		}
	}
	t, err := c.api(r, s.bearer, "").Sandbox().Tenant(r.Context(), id)
	if err != nil {
		return Tenant{}, errNoTenant
	}
	return Tenant{ID: t.ID, Name: t.Name}, nil
}

// maxListedTenants bounds the runtime tenants the picker lists.
const maxListedTenants = 100

// tenants are the tenants the session may see: the configured ones, then,
// when the session's token may list tenants (the operator's), those
// created at run time, read-only.
func (c *Console) tenants(r *http.Request, s *session) []Tenant {
	var out []Tenant
	for _, t := range c.cfg.Tenants {
		if s.who.allows(t.ID) {
			out = append(out, t)
		}
	}
	if !s.who.Operator {
		return out
	}
	page, err := c.api(r, s.bearer, "").Sandbox().Tenants(r.Context(), client.ListOptions{Limit: maxListedTenants})
	if err != nil {
		return out // a control token may not list tenants
	}
	for _, t := range page.Data {
		if !slices.ContainsFunc(c.cfg.Tenants, func(ct Tenant) bool { return ct.ID == t.ID }) {
			out = append(out, Tenant{ID: t.ID, Name: t.Name})
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
