package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/knogin/argus-sandbox/client"
)

// requestsPageSize is how many journaled requests a page shows.
const requestsPageSize = 50

// requestsData is the request journal page: the filters as given, the
// page of requests, newest first, and the query of the next page.
type requestsData struct {
	Scope     string
	Operation string
	Status    string
	Client    string
	Requests  []client.RequestEntry
	// NextQuery is the address of the next page ("" on the last).
	NextQuery string
	// AllTenants is true when the session may read every tenant at once.
	AllTenants bool
}

// scope is the tenant a journal or stream view is for: the ?tenant= the
// session may see, or, without one, every tenant for an operator and the
// session's own for a tenant session.
func (c *Console) scope(r *http.Request, s *session) (string, error) {
	id := r.URL.Query().Get("tenant")
	if id == "" {
		if s.who.Operator {
			return "", nil
		}
		return s.who.Tenant, nil
	}
	t, err := c.lookup(r, s, id)
	return t.ID, err
}

// requestsPage is the request journal (GET /_sandbox/requests) of the
// chosen tenant, filtered by the form's fields, paged by its cursor.
func (c *Console) requestsPage(w http.ResponseWriter, r *http.Request, s *session) {
	tenant, err := c.scope(r, s)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "There is no tenant "+r.URL.Query().Get("tenant")+" here.")
		return
	}
	q := r.URL.Query()
	d := requestsData{Scope: tenant, Operation: strings.TrimSpace(q.Get("operation")), Status: strings.TrimSpace(q.Get("status")),
		Client: strings.TrimSpace(q.Get("client")), AllTenants: s.who.Operator}
	page, err := c.api(r, s.bearer, "").Sandbox().Requests(r.Context(), client.RequestFilter{Tenant: tenant,
		Operation: d.Operation, Status: d.Status, ClientID: d.Client, Limit: requestsPageSize, Cursor: q.Get("cursor")})
	status, msg := http.StatusOK, ""
	if err != nil {
		status, msg = apiStatus(err), "The journal refused these filters: "+err.Error()
	}
	d.Requests = page.Requests
	if page.NextCursor != "" {
		next := url.Values{"cursor": {page.NextCursor}}
		for k, v := range map[string]string{"tenant": tenant, "operation": d.Operation, "status": d.Status, "client": d.Client} {
			if v != "" {
				next.Set(k, v)
			}
		}
		d.NextQuery = Prefix + "requests?" + next.Encode()
	}
	c.render(w, r, status, "requests", view{Title: "Requests", Nav: "requests", Error: msg, Data: d})
}

// requestsClear forgets the journaled requests of the chosen tenant, or of
// every tenant (DELETE /_sandbox/requests).
func (c *Console) requestsClear(w http.ResponseWriter, r *http.Request, s *session) {
	r.URL.RawQuery = url.Values{"tenant": {r.PostForm.Get("tenant")}}.Encode()
	tenant, err := c.scope(r, s)
	if err != nil {
		c.fail(w, r, s, http.StatusNotFound, "There is no tenant "+r.PostForm.Get("tenant")+" here.")
		return
	}
	if err := c.api(r, s.bearer, "").Sandbox().ClearRequests(r.Context(), tenant); err != nil {
		c.fail(w, r, s, apiStatus(err), "The journal could not be cleared: "+err.Error())
		return
	}
	q := url.Values{"done": {"cleared"}}
	if tenant != "" {
		q.Set("tenant", tenant)
	}
	http.Redirect(w, r, Prefix+"requests?"+q.Encode(), http.StatusSeeOther)
}
