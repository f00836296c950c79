package client

import (
	"context"
	"net/http"
	"time"
)

// PlatformAPI is the platform apps API (specs/platform.yaml), called with
// a tenant administrator's token (WithToken); Scopes also takes an app's
// access token.
type PlatformAPI struct{ c *Client }

// AppCreate registers an app. GrantTypes are client_credentials,
// authorization_code and refresh_token; RedirectURIs are required with
// authorization_code.
type AppCreate struct {
	Name            string   `json:"name"`
	GrantTypes      []string `json:"grant_types"`
	RedirectURIs    []string `json:"redirect_uris,omitempty"`
	RequestedScopes []string `json:"requested_scopes,omitempty"`
	// TokenEndpointAuthMethod is client_secret_basic (the default when
	// ""), client_secret_post, or none for a public client (RFC 7591 §2):
	// a native or single-page app that gets no secret and must use PKCE,
	// where the tenant policy allows public clients.
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method,omitempty"`
}

// AppUpdate changes an app; a nil field is left as it is, a list replaces
// the previous one (an empty non-nil list clears it).
type AppUpdate struct {
	Name            string   `json:"name,omitempty"`
	RedirectURIs    []string `json:"redirect_uris,omitzero"`
	RequestedScopes []string `json:"requested_scopes,omitzero"`
}

// App is a registered integration app with the approval state of
// everything it asked for.
type App struct {
	ID string `json:"id"`
	// ClientID is what the app authenticates with at the token endpoint.
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
	// TokenEndpointAuthMethod is "none" for a public client, which has no
	// secret, and client_secret_basic (or absent) otherwise.
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method,omitempty"`
	// Status is "active", or "pending_review" while an item awaits a
	// decision.
	Status         string             `json:"status"`
	GrantTypes     []GrantApproval    `json:"grant_types"`
	RedirectURIs   []RedirectApproval `json:"redirect_uris"`
	Scopes         []ScopeApproval    `json:"scopes"`
	ApprovedScopes []string           `json:"approved_scopes"`
	PendingScopes  []string           `json:"pending_scopes"`
	CreatedAt      time.Time          `json:"created_at"`
	UpdatedAt      time.Time          `json:"updated_at"`
}

// GrantApproval is a requested grant type and its approval ("approved",
// "pending" or "denied").
type GrantApproval struct {
	GrantType string `json:"grant_type"`
	Status    string `json:"status"`
}

// RedirectApproval is a requested redirect URI and its approval.
type RedirectApproval struct {
	URI    string `json:"uri"`
	Status string `json:"status"`
}

// ScopeApproval is a requested scope and its approval.
type ScopeApproval struct {
	Scope  string `json:"scope"`
	Status string `json:"status"`
}

// AppWithSecret is an app as registered, with its first client secret
// (shown only once; "" for a public client).
type AppWithSecret struct {
	App
	ClientSecret string `json:"client_secret"`
}

// Credentials returns the app's client credentials.
func (a AppWithSecret) Credentials() Credentials {
	return Credentials{ClientID: a.ClientID, ClientSecret: a.ClientSecret}
}

// Review decides pending items of an app.
type Review struct {
	Approve *ReviewItems `json:"approve,omitempty"`
	Deny    *ReviewItems `json:"deny,omitempty"`
}

// ReviewItems lists pending items to decide.
type ReviewItems struct {
	Scopes       []string `json:"scopes,omitempty"`
	GrantTypes   []string `json:"grant_types,omitempty"`
	RedirectURIs []string `json:"redirect_uris,omitempty"`
}

// ClientSecret is a client secret's metadata; its value is never shown
// again.
type ClientSecret struct {
	ID string `json:"id"`
	// Status is "current", or "grace" while a rotated-out secret works.
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// SecretRotation rotates an app's client secret: the previous one keeps
// working GracePeriodSeconds (nil: the default, 86400; 0 revokes it now).
type SecretRotation struct {
	GracePeriodSeconds *int `json:"grace_period_seconds,omitempty"`
}

// RotatedClientSecret is the answer of a client secret rotation.
type RotatedClientSecret struct {
	ClientID string `json:"client_id"`
	// ClientSecret is the new secret, shown only once.
	ClientSecret string `json:"client_secret"`
	// Secret is its metadata; Secrets every secret that works.
	Secret  ClientSecret   `json:"secret"`
	Secrets []ClientSecret `json:"secrets"`
}

// ServiceTokenCreate mints a service token: Scopes ⊆ the app's approved
// scopes (all when nil), TTLSeconds from 60 to 30 days (1 hour when 0).
type ServiceTokenCreate struct {
	Scopes      []string `json:"scopes,omitempty"`
	TTLSeconds  int      `json:"ttl_seconds,omitempty"`
	Description string   `json:"description,omitempty"`
}

// ServiceToken is a service token's metadata.
type ServiceToken struct {
	// ID is the token's jti.
	ID          string    `json:"id"`
	Description string    `json:"description,omitempty"`
	Scopes      []string  `json:"scopes"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	// Status is "active", "expired" or "revoked".
	Status string `json:"status"`
}

// MintedServiceToken is a service token as minted, with its value (shown
// only once).
type MintedServiceToken struct {
	ServiceToken
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

// ScopeInfo is one entry of scope discovery.
type ScopeInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Visibility is "published" or "partner".
	Visibility string `json:"visibility"`
	// Approved says the tenant's policy grants it without per-app review.
	Approved bool `json:"approved"`
}

// AuditEvent is one entry of the tenant's audit trail.
type AuditEvent struct {
	ID string `json:"id"`
	// Action is what happened: app.created, secret.rotated…
	Action     string         `json:"action"`
	Actor      AuditActor     `json:"actor"`
	Target     string         `json:"target"`
	Details    map[string]any `json:"details,omitempty"`
	OccurredAt time.Time      `json:"occurred_at"`
}

// AuditActor is who did it: Type "admin", "app" or "operator".
type AuditActor struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// AuditFilter pages through the audit trail, narrowed to one Target (an
// app or access request id) when set.
type AuditFilter struct {
	ListOptions
	Target string
}

// AccessRequestCreate asks for a partner-only capability:
// advanced_platform_apis, curated_graphql_bundles, federation or
// environment_onboarding.
type AccessRequestCreate struct {
	Capability      string   `json:"capability"`
	UseCase         string   `json:"use_case"`
	RequestedScopes []string `json:"requested_scopes,omitempty"`
}

// AccessRequest is a reviewed-access request and its decision.
type AccessRequest struct {
	ID              string   `json:"id"`
	Capability      string   `json:"capability"`
	UseCase         string   `json:"use_case"`
	RequestedScopes []string `json:"requested_scopes"`
	// Status is "submitted", "approved" or "denied".
	Status         string     `json:"status"`
	DecisionReason string     `json:"decision_reason,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	DecidedAt      *time.Time `json:"decided_at"`
}

// CreateApp registers an app; the answer carries its client secret.
func (p PlatformAPI) CreateApp(ctx context.Context, a AppCreate) (AppWithSecret, error) {
	var out AppWithSecret
	err := p.c.tenant(ctx, http.MethodPost, "/v1/platform/apps", nil, a, http.StatusCreated, &out)
	return out, err
}

// ListApps lists the tenant's apps, oldest first, a page at a time.
func (p PlatformAPI) ListApps(ctx context.Context, o ListOptions) (Page[App], error) {
	var out Page[App]
	err := p.c.tenant(ctx, http.MethodGet, "/v1/platform/apps", o.values(), nil, http.StatusOK, &out)
	return out, err
}

// GetApp reads one app.
func (p PlatformAPI) GetApp(ctx context.Context, id string) (App, error) {
	var out App
	err := p.c.tenant(ctx, http.MethodGet, "/v1/platform/apps/"+escape(id), nil, nil, http.StatusOK, &out)
	return out, err
}

// UpdateApp changes an app; new items go through governance again.
func (p PlatformAPI) UpdateApp(ctx context.Context, id string, u AppUpdate) (App, error) {
	var out App
	err := p.c.tenant(ctx, http.MethodPatch, "/v1/platform/apps/"+escape(id), nil, u, http.StatusOK, &out)
	return out, err
}

// DeleteApp deletes an app; its secrets and tokens stop working at once.
func (p PlatformAPI) DeleteApp(ctx context.Context, id string) error {
	return p.c.tenant(ctx, http.MethodDelete, "/v1/platform/apps/"+escape(id), nil, nil, http.StatusNoContent, nil)
}

// ReviewApp approves or denies pending items of an app.
func (p PlatformAPI) ReviewApp(ctx context.Context, id string, r Review) (App, error) {
	var out App
	err := p.c.tenant(ctx, http.MethodPost, "/v1/platform/apps/"+escape(id)+"/review", nil, r, http.StatusOK, &out)
	return out, err
}

// RotateSecret issues a new client secret.
func (p PlatformAPI) RotateSecret(ctx context.Context, appID string, r SecretRotation) (RotatedClientSecret, error) {
	var out RotatedClientSecret
	err := p.c.tenant(ctx, http.MethodPost, "/v1/platform/apps/"+escape(appID)+"/secrets", nil, r, http.StatusCreated, &out)
	return out, err
}

// ListSecrets lists the secrets that work, never their values.
func (p PlatformAPI) ListSecrets(ctx context.Context, appID string) ([]ClientSecret, error) {
	var out list[ClientSecret]
	err := p.c.tenant(ctx, http.MethodGet, "/v1/platform/apps/"+escape(appID)+"/secrets", nil, nil, http.StatusOK, &out)
	return out.Data, err
}

// CreateServiceToken mints a signed access token for headless automation.
func (p PlatformAPI) CreateServiceToken(ctx context.Context, appID string, r ServiceTokenCreate) (MintedServiceToken, error) {
	var out MintedServiceToken
	err := p.c.tenant(ctx, http.MethodPost, "/v1/platform/apps/"+escape(appID)+"/service-tokens", nil, r, http.StatusCreated, &out)
	return out, err
}

// ListServiceTokens lists an app's service tokens, newest first.
func (p PlatformAPI) ListServiceTokens(ctx context.Context, appID string) ([]ServiceToken, error) {
	var out list[ServiceToken]
	err := p.c.tenant(ctx, http.MethodGet, "/v1/platform/apps/"+escape(appID)+"/service-tokens", nil, nil, http.StatusOK, &out)
	return out.Data, err
}

// RevokeServiceToken revokes a service token at once.
func (p PlatformAPI) RevokeServiceToken(ctx context.Context, appID, tokenID string) error {
	return p.c.tenant(ctx, http.MethodDelete, "/v1/platform/apps/"+escape(appID)+"/service-tokens/"+escape(tokenID),
		nil, nil, http.StatusNoContent, nil)
}

// Scopes is scope discovery: the published scopes and the partner-only
// ones the tenant unlocked.
func (p PlatformAPI) Scopes(ctx context.Context) ([]ScopeInfo, error) {
	var out list[ScopeInfo]
	err := p.c.tenant(ctx, http.MethodGet, "/v1/platform/scopes", nil, nil, http.StatusOK, &out)
	return out.Data, err
}

// AuditEvents reads the audit trail, oldest first, a page at a time.
func (p PlatformAPI) AuditEvents(ctx context.Context, f AuditFilter) (Page[AuditEvent], error) {
	q := f.values()
	if f.Target != "" {
		q.Set("target", f.Target)
	}
	var out Page[AuditEvent]
	err := p.c.tenant(ctx, http.MethodGet, "/v1/platform/audit-events", q, nil, http.StatusOK, &out)
	return out, err
}

// CreateAccessRequest submits a reviewed-access request.
func (p PlatformAPI) CreateAccessRequest(ctx context.Context, r AccessRequestCreate) (AccessRequest, error) {
	var out AccessRequest
	err := p.c.tenant(ctx, http.MethodPost, "/v1/platform/access-requests", nil, r, http.StatusCreated, &out)
	return out, err
}

// ListAccessRequests lists the tenant's access requests, oldest first.
func (p PlatformAPI) ListAccessRequests(ctx context.Context) ([]AccessRequest, error) {
	var out list[AccessRequest]
	err := p.c.tenant(ctx, http.MethodGet, "/v1/platform/access-requests", nil, nil, http.StatusOK, &out)
	return out.Data, err
}

// GetAccessRequest reads one access request.
func (p PlatformAPI) GetAccessRequest(ctx context.Context, id string) (AccessRequest, error) {
	var out AccessRequest
	err := p.c.tenant(ctx, http.MethodGet, "/v1/platform/access-requests/"+escape(id), nil, nil, http.StatusOK, &out)
	return out, err
}
