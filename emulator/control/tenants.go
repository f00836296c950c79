package control

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/fixtures"
)

// TenantData removes or resets one tenant's data in every surface (the
// wiring): apps, grants and tokens, webhooks and their queued deliveries,
// cases, audit trail, access requests, idempotency records.
type TenantData interface {
	DeleteTenant(ctx context.Context, tenant string) error
	ResetTenant(ctx context.Context, tenant string, keepApps bool) error
}

// controller is the principal of a tenant's control token: it acts on that
// tenant alone.
func controller(r *http.Request) (tenant string, ok bool) {
	p := core.PrincipalFrom(r.Context())
	if p == nil || p.Kind != core.KindOperator || p.Tenant == "" {
		return "", false
	}
	return p.Tenant, true
}

func forbidden(detail string) *core.Problem {
	return core.NewProblem(http.StatusForbidden, "forbidden", "Forbidden", detail)
}

// queryScope is scope for the tenant a GET names in its query: "" for the
// operator naming none; an unknown tenant is answered 404 here.
func (s *Service) queryScope(w http.ResponseWriter, r *http.Request) (string, bool) {
	tenant, ok := s.scope(w, r, r.URL.Query().Get("tenant"))
	if !ok {
		return "", false
	}
	if tenant != "" && !s.knownTenant(tenant) {
		core.WriteProblem(w, r, core.NotFoundProblem("no tenant has id "+tenant))
		return "", false
	}
	return tenant, true
}

// scope returns the tenant a request acts on: a control token's own
// tenant (naming another is refused, 403), or the tenant the operator
// named ("" for none). It writes the refusal and returns false.
func (s *Service) scope(w http.ResponseWriter, r *http.Request, named string) (string, bool) {
	own, ok := controller(r)
	if !ok {
		return named, true
	}
	if named != "" && named != own {
		core.WriteProblem(w, r, forbidden("this control token acts on tenant "+own+" alone"))
		return "", false
	}
	return own, true
}

// global guards an operation only the operator token may call.
func (s *Service) global(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if own, ok := controller(r); ok {
			core.WriteProblem(w, r, forbidden("a tenant's control token (tenant "+own+") cannot call this operation: it needs the operator token"))
			return
		}
		h(w, r)
	}
}

// tenantView is the wire form of a tenant (never its tokens).
type tenantView struct {
	ID              string     `json:"id"`
	Name            string     `json:"name"`
	Policy          policyView `json:"policy"`
	Users           []userView `json:"users"`
	Template        string     `json:"template,omitempty"`
	SelfReview      bool       `json:"self_review"`
	Fixture         bool       `json:"fixture"`
	HasControlToken bool       `json:"has_control_token"`
	CreatedAt       time.Time  `json:"created_at"`
}

type policyView struct {
	ApprovedScopes      []string `json:"approved_scopes"`
	GrantTypes          []string `json:"grant_types"`
	RedirectURIPatterns []string `json:"redirect_uri_patterns"`
	PublicClients       bool     `json:"public_clients"`
}

type userView struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role,omitempty"`
	Locale string `json:"locale,omitempty"`
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func viewTenant(t tenants.Tenant) tenantView {
	v := tenantView{ID: t.ID, Name: t.Name, Template: t.Template, SelfReview: t.SelfReview, Fixture: t.Fixture,
		HasControlToken: t.ControlTokenDigest != "", CreatedAt: t.CreatedAt.UTC(), Users: []userView{},
		Policy: policyView{ApprovedScopes: nonNil(t.Policy.ApprovedScopes), GrantTypes: nonNil(t.Policy.GrantTypes),
			RedirectURIPatterns: nonNil(t.Policy.RedirectURIPatterns), PublicClients: t.Policy.PublicClients}}
	for _, u := range t.Users {
		v.Users = append(v.Users, userView{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Locale: u.Locale})
	}
	return v
}

func (s *Service) createTenant(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ID         string      `json:"id"`
		Name       string      `json:"name"`
		Policy     *policyView `json:"policy"`
		Users      []userView  `json:"users"`
		SelfReview bool        `json:"self_review"`
		Template   string      `json:"template"`
	}
	if !decode(w, r, &in) {
		return
	}
	spec := tenants.Spec{ID: in.ID, Name: in.Name, Template: in.Template, SelfReview: in.SelfReview}
	if in.Policy != nil {
		spec.Policy = &fixtures.Policy{ApprovedScopes: in.Policy.ApprovedScopes, GrantTypes: in.Policy.GrantTypes,
			RedirectURIPatterns: in.Policy.RedirectURIPatterns, PublicClients: in.Policy.PublicClients}
	}
	for _, u := range in.Users {
		spec.Users = append(spec.Users, fixtures.User{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Locale: u.Locale})
	}
	c, err := s.cfg.Tenants.Create(r.Context(), spec)
	if err != nil {
		s.tenantErr(w, r, in.ID, err)
		return
	}
	// The surfaces seed what the tenant starts with (a template's cases).
	if s.cfg.TenantData != nil {
		if err := s.cfg.TenantData.ResetTenant(r.Context(), c.Tenant.ID, false); err != nil {
			s.fail(w, r, "seeding the tenant", err)
			return
		}
	}
	s.log.Info("tenant created", "tenant", c.Tenant.ID, "request_id", core.RequestIDFrom(r.Context()))
	w.Header().Set("Location", "/_sandbox/tenants/"+c.Tenant.ID)
	core.WriteJSON(w, http.StatusCreated, struct {
		tenantView
		AdminToken   string `json:"admin_token"`
		ControlToken string `json:"control_token"`
	}{viewTenant(c.Tenant), c.AdminToken, c.ControlToken})
}

func (s *Service) listTenants(w http.ResponseWriter, r *http.Request) {
	// The cursor is the last tenant served (its creation time and id), not
	// an offset: the store pages by it, and a tenant deleted meanwhile
	// shifts no other.
	after, err := tenants.ParseCursor(r.URL.Query().Get("cursor"))
	if err != nil {
		core.WriteProblem(w, r, core.CursorProblem())
		return
	}
	page, next, err := s.cfg.Tenants.Page(r.Context(), after, core.QueryInt(r, "limit", 20))
	if err != nil {
		s.fail(w, r, "listing tenants", err)
		return
	}
	out := make([]tenantView, 0, len(page))
	for _, t := range page {
		out = append(out, viewTenant(t))
	}
	var cursor string
	if next != (tenants.Cursor{}) {
		cursor = next.String()
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"data": out, "next_cursor": core.NextCursor(cursor)})
}

func (s *Service) getTenant(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("tenant_id")
	if _, ok := s.scope(w, r, id); !ok {
		return
	}
	t, err := s.cfg.Tenants.Get(r.Context(), id)
	if err != nil {
		s.tenantErr(w, r, id, err)
		return
	}
	core.WriteJSON(w, http.StatusOK, viewTenant(t))
}

// deleteTenant removes the tenant from the registry first, so its tokens
// stop authenticating before its data goes, then its data, fault rules
// and clock.
func (s *Service) deleteTenant(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("tenant_id")
	if err := s.cfg.Tenants.Delete(r.Context(), id); err != nil {
		s.tenantErr(w, r, id, err)
		return
	}
	if s.cfg.TenantData != nil {
		if err := s.cfg.TenantData.DeleteTenant(r.Context(), id); err != nil {
			s.fail(w, r, "deleting the tenant's data", err)
			return
		}
	}
	s.dropTenantFaults(id)
	if s.cfg.Clocks != nil {
		s.cfg.Clocks.Drop(id)
	}
	s.streams.end(id)
	s.log.Info("tenant deleted", "tenant", id, "request_id", core.RequestIDFrom(r.Context()))
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) rotateTenantToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Kind string `json:"kind"`
	}
	if !decode(w, r, &in) {
		return
	}
	id := r.PathValue("tenant_id")
	token, _, err := s.cfg.Tenants.RotateToken(r.Context(), id, in.Kind)
	if err != nil {
		s.tenantErr(w, r, id, err)
		return
	}
	if in.Kind == "control" {
		s.streams.end(id) // the old token's streams
	}
	s.log.Info("tenant token rotated", "tenant", id, "kind", in.Kind, "request_id", core.RequestIDFrom(r.Context()))
	core.WriteJSON(w, http.StatusOK, map[string]string{"tenant": id, "kind": in.Kind, "token": token})
}

func (s *Service) tenantErr(w http.ResponseWriter, r *http.Request, id string, err error) {
	var inv *tenants.InvalidError
	switch {
	case errors.As(err, &inv):
		fields := make([]string, len(inv.Issues))
		p := core.NewProblem(http.StatusBadRequest, "invalid_request", "Bad Request", "")
		for i, is := range inv.Issues {
			fields[i] = is.Field
			p.WithField(is.Field, is.Reason)
		}
		p.Detail = "the tenant is invalid: " + strings.Join(fields, ", ")
		core.WriteProblem(w, r, p)
	case errors.Is(err, tenants.ErrExists):
		core.WriteProblem(w, r, core.NewProblem(http.StatusConflict, "conflict", "Conflict", "a tenant "+id+" already exists").
			WithField("/id", "taken"))
	case errors.Is(err, tenants.ErrNotFound):
		core.WriteProblem(w, r, core.NotFoundProblem("no tenant has id "+id))
	default:
		s.fail(w, r, "the tenant operation", err)
	}
}

// knownTenant reports whether a tenant exists (the registry, or the
// fixtures when the control plane has no registry).
func (s *Service) knownTenant(id string) bool {
	if s.cfg.Tenants != nil {
		_, ok := s.cfg.Tenants.Tenant(id)
		return ok
	}
	_, ok := s.cfg.Fixtures.Tenant(id)
	return ok
}

// dropTenantFaults removes the fault rules that match the tenant alone.
func (s *Service) dropTenantFaults(tenant string) {
	for _, st := range s.cfg.Faults.Rules() {
		if st.Match.Tenant == tenant {
			_ = s.cfg.Faults.Delete(st.Name)
		}
	}
}

// withTenants answers 501 when the control plane has no tenant registry.
func (s *Service) withTenants(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.available(w, r, s.cfg.Tenants != nil, "managing tenants") {
			h(w, r)
		}
	}
}

// ownJournal holds a control token to its tenant's journal: the tenant
// query parameter is set to it (naming another tenant is refused).
func (s *Service) ownJournal(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		own, ok := s.scope(w, r, q.Get("tenant"))
		if !ok {
			return
		}
		if own != "" {
			q.Set("tenant", own)
			r.URL.RawQuery = q.Encode()
		}
		h(w, r)
	}
}

// clockFor is the clock of tenant ("" the sandbox clock).
func (s *Service) clockFor(tenant string) Clock {
	if tenant == "" || s.cfg.Clocks == nil {
		return s.cfg.Clock
	}
	return s.cfg.Clocks.For(tenant)
}

// eachClock calls f with the sandbox clock and every tenant's.
func (s *Service) eachClock(f func(Clock)) {
	if s.cfg.Clocks == nil {
		f(s.cfg.Clock)
		return
	}
	s.cfg.Clocks.Each(func(_ string, vc *core.VirtualClock) { f(vc) })
}
