package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// TenantPolicy is what the tenant approves without per-app review, the
// state of its reviewed capabilities and its limits: the portal's first
// step, before registering an app.
type TenantPolicy struct {
	Tenant         string   `json:"tenant"`
	ApprovedScopes []string `json:"approved_scopes"`
	GrantTypes     []string `json:"grant_types"`
	// RedirectURIPatterns approve matching redirect URIs: "*" matches
	// within one host label and any run of path characters; a loopback
	// host accepts any port.
	RedirectURIPatterns []string `json:"redirect_uri_patterns"`
	PublishedScopes     []string `json:"published_scopes"`
	// PartnerScopes maps each partner-only scope to the capability that
	// unlocks it.
	PartnerScopes map[string]string `json:"partner_scopes"`
	Capabilities  []CapabilityState `json:"capabilities"`
	Limits        TenantLimits      `json:"limits"`
}

// CapabilityState is a reviewed capability's state for the tenant:
// "approved", "pending" while a request is under review, "denied" or
// "not_requested".
type CapabilityState struct {
	Capability string `json:"capability"`
	Status     string `json:"status"`
}

// TenantLimits are what the tenant (or each app) may keep; writes past a
// limit answer limit_reached. AuditEventsPerTenant is the audit
// retention: older events are dropped.
type TenantLimits struct {
	AppsPerTenant           int `json:"apps_per_tenant"`
	SecretsPerApp           int `json:"secrets_per_app"`
	ServiceTokensPerApp     int `json:"service_tokens_per_app"`
	AccessRequestsPerTenant int `json:"access_requests_per_tenant"`
	AuditEventsPerTenant    int `json:"audit_events_per_tenant"`
	EnvironmentsPerTenant   int `json:"environments_per_tenant"`
}

// AuditExportFilter narrows an audit export to events that occurred in
// [Since, Until); a zero time leaves that end open.
type AuditExportFilter struct {
	Since time.Time
	Until time.Time
}

// EnvironmentCreate requests a dedicated environment in Region ("local"
// when "").
type EnvironmentCreate struct {
	Name   string `json:"name"`
	Region string `json:"region,omitempty"`
}

// Environment is a record of an environment request, not a tenant:
// nothing is served under it. Status is "provisioning", then "ready" from
// ReadyAt on, on the sandbox clock.
type Environment struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Region    string    `json:"region"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	ReadyAt   time.Time `json:"ready_at"`
}

// FederationMetadata is what a federating partner can rely on: the
// issuer of the tenant's tokens and its documents. The sandbox trusts no
// external issuer and offers no RFC 8693 token exchange.
type FederationMetadata struct {
	Tenant                 string `json:"tenant"`
	Issuer                 string `json:"issuer"`
	JWKSURI                string `json:"jwks_uri"`
	AuthorizationServerURI string `json:"authorization_server_uri"`
	OpenIDConfigurationURI string `json:"openid_configuration_uri"`
	// AccessTokenFormat is "jwt" (RFC 9068).
	AccessTokenFormat      string `json:"access_token_format"`
	TokenExchangeSupported bool   `json:"token_exchange_supported"`
	ExternalIssuersTrusted bool   `json:"external_issuers_trusted"`
}

// Policy reads the tenant's approval policy; a tenant administrator's
// token only.
func (p PlatformAPI) Policy(ctx context.Context) (TenantPolicy, error) {
	var out TenantPolicy
	err := p.c.tenant(ctx, http.MethodGet, "/v1/platform/policy", nil, nil, http.StatusOK, &out)
	return out, err
}

// The partner surfaces below need the tenant's reviewed capability
// approved (403 review_required otherwise) and a tenant administrator's
// token or an access token holding the surface's partner scope.

// ExportAuditEvents downloads the audit trail (the latest 10,000 events),
// oldest first, decoded from its NDJSON lines (audit:export, capability
// advanced_platform_apis). The export is itself recorded in the trail
// (audit.exported).
func (p PlatformAPI) ExportAuditEvents(ctx context.Context, f AuditExportFilter) ([]AuditEvent, error) {
	const path = "/v1/platform/audit-events/export"
	q := url.Values{}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.Format(time.RFC3339Nano))
	}
	var raw []byte
	if err := p.c.do(ctx, call{method: http.MethodGet, path: path, query: q, bearer: p.c.token, want: http.StatusOK, raw: &raw}); err != nil {
		return nil, err
	}
	var out []AuditEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	for {
		var ev AuditEvent
		err := dec.Decode(&ev)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("client: GET %s: malformed line %d: %w", path, len(out)+1, err)
		}
		out = append(out, ev)
	}
}

// CreateEnvironment requests an environment (environments:onboard,
// capability environment_onboarding); it is ready 30 seconds later on the
// sandbox clock.
func (p PlatformAPI) CreateEnvironment(ctx context.Context, e EnvironmentCreate) (Environment, error) {
	var out Environment
	err := p.c.tenant(ctx, http.MethodPost, "/v1/platform/environments", nil, e, http.StatusCreated, &out)
	return out, err
}

// ListEnvironments lists the tenant's environments, oldest first.
func (p PlatformAPI) ListEnvironments(ctx context.Context) ([]Environment, error) {
	var out list[Environment]
	err := p.c.tenant(ctx, http.MethodGet, "/v1/platform/environments", nil, nil, http.StatusOK, &out)
	return out.Data, err
}

// GetEnvironment reads one environment with its state on the sandbox
// clock.
func (p PlatformAPI) GetEnvironment(ctx context.Context, id string) (Environment, error) {
	var out Environment
	err := p.c.tenant(ctx, http.MethodGet, "/v1/platform/environments/"+escape(id), nil, nil, http.StatusOK, &out)
	return out, err
}

// FederationMetadata describes how a partner federates with the sandbox
// (platform:federation, capability federation).
func (p PlatformAPI) FederationMetadata(ctx context.Context) (FederationMetadata, error) {
	var out FederationMetadata
	err := p.c.tenant(ctx, http.MethodGet, "/v1/platform/federation/metadata", nil, nil, http.StatusOK, &out)
	return out, err
}
