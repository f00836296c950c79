package client

import (
	"context"
	"net/http"
	"time"
)

// TenantPolicySpec is what a tenant approves without review: the fixture
// schema of a policy.
type TenantPolicySpec struct {
	ApprovedScopes      []string `json:"approved_scopes"`
	GrantTypes          []string `json:"grant_types"`
	RedirectURIPatterns []string `json:"redirect_uri_patterns"`
	PublicClients       bool     `json:"public_clients,omitzero"`
}

// TenantUser is a person of a tenant who can sign in.
type TenantUser struct {
	ID     string `json:"id"`
	Email  string `json:"email"`
	Name   string `json:"name"`
	Role   string `json:"role,omitempty"`
	Locale string `json:"locale,omitempty"`
}

// TenantCreate is the body of POST /_sandbox/tenants: ID may be empty (one
// is drawn), Policy nil (the open policy).
type TenantCreate struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
	// Template is a fixture tenant the new one starts as a copy of: its
	// policy, users and seeded cases (same ids).
	Template string            `json:"template,omitempty"`
	Policy   *TenantPolicySpec `json:"policy,omitempty"`
	Users    []TenantUser      `json:"users,omitempty"`
	// SelfReview lets the tenant's control token decide its own access
	// requests.
	SelfReview bool `json:"self_review,omitzero"`
}

// Tenant is a tenant of the sandbox (never its tokens).
type Tenant struct {
	ID         string           `json:"id"`
	Name       string           `json:"name"`
	Template   string           `json:"template,omitempty"`
	Policy     TenantPolicySpec `json:"policy"`
	Users      []TenantUser     `json:"users"`
	SelfReview bool             `json:"self_review"`
	// Fixture says the tenant was seeded from the fixtures at start.
	Fixture bool `json:"fixture"`
	// HasControlToken says a control token was issued.
	HasControlToken bool      `json:"has_control_token"`
	CreatedAt       time.Time `json:"created_at"`
}

// TenantCreated is a new tenant with its two tokens, shown this once:
// AdminToken is the bearer of the platform APIs' tenant administrator,
// ControlToken the bearer of the control plane for that tenant alone.
type TenantCreated struct {
	Tenant
	AdminToken   string `json:"admin_token"`
	ControlToken string `json:"control_token"`
}

// Token kinds of RotateTenantToken.
const (
	TenantAdminToken   = "admin"
	TenantControlToken = "control"
)

// tenantTokenRequest is the body of POST /_sandbox/tenants/{id}/tokens.
type tenantTokenRequest struct {
	Kind string `json:"kind"`
}

// TenantToken is a tenant's new admin or control token, shown this once.
type TenantToken struct {
	Tenant string `json:"tenant"`
	Kind   string `json:"kind"`
	Token  string `json:"token"`
}

// CreateTenant creates a tenant (operator token only).
func (s SandboxAPI) CreateTenant(ctx context.Context, t TenantCreate) (TenantCreated, error) {
	var out TenantCreated
	err := s.c.control(ctx, http.MethodPost, "/_sandbox/tenants", t, http.StatusCreated, &out)
	return out, err
}

// Tenants lists the tenants, oldest first, a page at a time.
func (s SandboxAPI) Tenants(ctx context.Context, o ListOptions) (Page[Tenant], error) {
	var out Page[Tenant]
	err := s.c.do(ctx, call{method: http.MethodGet, path: "/_sandbox/tenants", query: o.values(), bearer: s.c.operator,
		want: http.StatusOK, out: &out})
	return out, err
}

// Tenant reads one tenant.
func (s SandboxAPI) Tenant(ctx context.Context, id string) (Tenant, error) {
	var out Tenant
	err := s.c.control(ctx, http.MethodGet, "/_sandbox/tenants/"+escape(id), nil, http.StatusOK, &out)
	return out, err
}

// DeleteTenant deletes a tenant and everything it holds (operator token
// only).
func (s SandboxAPI) DeleteTenant(ctx context.Context, id string) error {
	return s.c.control(ctx, http.MethodDelete, "/_sandbox/tenants/"+escape(id), nil, http.StatusNoContent, nil)
}

// RotateTenantToken replaces a tenant's admin or control token (kind
// TenantAdminToken or TenantControlToken); the old one stops working.
func (s SandboxAPI) RotateTenantToken(ctx context.Context, id, kind string) (TenantToken, error) {
	var out TenantToken
	err := s.c.control(ctx, http.MethodPost, "/_sandbox/tenants/"+escape(id)+"/tokens", tenantTokenRequest{Kind: kind}, http.StatusOK, &out)
	return out, err
}
