// Package platform implements the platform apps API: app registration,
// scope discovery, tenant-admin governance, client-secret rotation, service
// tokens, the audit trail and reviewed-access requests.
package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
)

// DefaultSecretGrace is how long a rotated secret keeps working by default.
const DefaultSecretGrace = 24 * time.Hour

// EventPublisher publishes platform activity as webhook events; the
// webhooks engine implements it.
type EventPublisher interface {
	Publish(ctx context.Context, tenant, topic string, data map[string]any) (string, error)
}

// TokenMinter mints and revokes service tokens; the OAuth token service
// implements it (through an adapter in the wiring).
type TokenMinter interface {
	MintServiceToken(ctx context.Context, tenant, appID, clientID string, scopes []string, ttl time.Duration) (token, id string, expires time.Time, err error)
	RevokeTokenID(ctx context.Context, id string) error
}

// Tenants looks tenants up by id; *fixtures.Set and the tenant registry
// implement it.
type Tenants interface {
	Tenant(id string) (*fixtures.Tenant, bool)
}

// Config configures the platform surface.
type Config struct {
	Clock    core.Clock
	IDs      *core.IDs
	Fixtures *fixtures.Set
	// Tenants finds the tenants (nil: the fixture tenants); the wiring
	// passes the tenant registry, which holds those created at run time.
	Tenants Tenants
	Logger  *slog.Logger
	// Store defaults to a MemoryStore with the default Limits; the store
	// decides the limits.
	Store Store
	// Events may be nil (no events).
	Events EventPublisher
	// Tokens may be nil: service tokens then cannot be minted.
	Tokens TokenMinter
	// TenantClock, when set, gives each tenant's clock: its secrets'
	// grace periods and service tokens' expiry follow it (nil: Clock for
	// every tenant).
	TenantClock core.ClockFor
	// Issuer is the token issuer's base URL, which the federation
	// metadata names (http://127.0.0.1:8080 when empty).
	Issuer string
}

// Service serves the platform apps API.
type Service struct {
	clock   core.Clock
	ids     *core.IDs
	fx      *fixtures.Set
	log     *slog.Logger
	store   Store
	limits  Limits
	events  EventPublisher
	tokens  TokenMinter
	tenants Tenants
	// tenantClock is Config.TenantClock.
	tenantClock core.ClockFor
	policies    policyCache
	issuer      string
}

// New validates cfg and returns the service.
func New(cfg Config) (*Service, error) {
	if cfg.Clock == nil || cfg.IDs == nil || cfg.Fixtures == nil {
		return nil, errors.New("platform: Clock, IDs and Fixtures are required")
	}
	s := &Service{clock: cfg.Clock, ids: cfg.IDs, fx: cfg.Fixtures, log: cfg.Logger, store: cfg.Store,
		events: cfg.Events, tokens: cfg.Tokens, tenants: cfg.Tenants, tenantClock: cfg.TenantClock, issuer: cfg.Issuer}
	if s.tenants == nil {
		s.tenants = cfg.Fixtures
	}
	if s.issuer == "" {
		s.issuer = "http://127.0.0.1:8080"
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.store == nil {
		s.store = NewMemoryStore(Limits{})
	}
	s.limits = s.store.Limits()
	for _, t := range cfg.Fixtures.Tenants {
		if _, err := newPolicy(t.Policy); err != nil {
			return nil, fmt.Errorf("platform: tenant %s: %w", t.ID, err)
		}
	}
	return s, nil
}

// SetTokenMinter connects the token service after construction. It is the
// wiring's one setter, for its one real cycle: the token service
// authenticates clients against the platform's apps, and the platform
// mints service tokens through the token service. Call it before the
// service handles requests; it is not safe to call concurrently with them.
func (s *Service) SetTokenMinter(m TokenMinter) { s.tokens = m }

// API returns the platform API for the router.
func (s *Service) API(doc *openapi3.T) core.API {
	return core.API{Name: "platform", Doc: doc, Handlers: map[string]http.Handler{
		"createApp":             http.HandlerFunc(s.createApp),
		"listApps":              http.HandlerFunc(s.listApps),
		"getApp":                http.HandlerFunc(s.getApp),
		"updateApp":             http.HandlerFunc(s.updateApp),
		"deleteApp":             http.HandlerFunc(s.deleteApp),
		"reviewApp":             http.HandlerFunc(s.reviewApp),
		"rotateAppSecret":       http.HandlerFunc(s.rotateSecret),
		"listAppSecrets":        http.HandlerFunc(s.listSecrets),
		"createServiceToken":    http.HandlerFunc(s.createServiceToken),
		"listServiceTokens":     http.HandlerFunc(s.listServiceTokens),
		"revokeServiceToken":    http.HandlerFunc(s.revokeServiceToken),
		"listScopes":            http.HandlerFunc(s.listScopes),
		"listAuditEvents":       http.HandlerFunc(s.listAudit),
		"createAccessRequest":   http.HandlerFunc(s.createAccessRequest),
		"listAccessRequests":    http.HandlerFunc(s.listAccessRequests),
		"getAccessRequest":      http.HandlerFunc(s.getAccessRequest),
		"getPolicy":             http.HandlerFunc(s.getPolicy),
		"exportAuditEvents":     http.HandlerFunc(s.exportAuditEvents),
		"createEnvironment":     http.HandlerFunc(s.createEnvironment),
		"listEnvironments":      http.HandlerFunc(s.listEnvironments),
		"getEnvironment":        http.HandlerFunc(s.getEnvironment),
		"getFederationMetadata": http.HandlerFunc(s.federationMetadata),
	}}
}

// AdminAuthenticator accepts the fixture tenant administrators' tokens
// (security scheme adminToken).
func (s *Service) AdminAuthenticator() core.Authenticator {
	// The subject of each tenant's administrator is built once; every
	// request still gets its own Principal.
	subjects := make(map[string]string, len(s.fx.Tenants))
	for _, t := range s.fx.Tenants {
		subjects[t.ID] = "admin@" + t.ID
	}
	return core.AuthenticatorFunc(func(_ context.Context, token string) (*core.Principal, error) {
		t, ok := s.fx.TenantByAdminToken(token)
		if !ok {
			return nil, core.ErrInvalidToken
		}
		sub, ok := subjects[t.ID]
		if !ok {
			sub = "admin@" + t.ID
		}
		return &core.Principal{Kind: core.KindAdmin, Tenant: t.ID, Subject: sub}, nil
	})
}

// Reset returns the surface to the fixture state; registered apps survive
// when keepApps.
func (s *Service) Reset(keepApps bool) {
	if err := s.store.Reset(context.Background(), keepApps); err != nil {
		s.log.Error("platform: reset the store", "err", err)
	}
}

// clockOf is the clock of tenant's credentials.
func (s *Service) clockOf(tenant string) core.Clock {
	if s.tenantClock == nil {
		return s.clock
	}
	return s.tenantClock(tenant)
}

// DeleteTenant removes the tenant's apps (unless keepApps), audit trail,
// access requests and environments.
func (s *Service) DeleteTenant(ctx context.Context, tenant string, keepApps bool) error {
	return s.store.DeleteTenant(ctx, tenant, keepApps)
}

// writeErr maps store errors and problems to problem+json.
func writeErr(w http.ResponseWriter, r *http.Request, err error) {
	var p *core.Problem
	var le *core.LimitError
	switch {
	case errors.As(err, &p):
		core.WriteProblem(w, r, p)
	case errors.As(err, &le):
		core.WriteProblem(w, r, le.Problem())
	case errors.Is(err, ErrNotFound):
		core.WriteProblem(w, r, core.NewProblem(http.StatusNotFound, "not_found", "Not found", "no such resource in this tenant"))
	default:
		core.WriteProblem(w, r, core.NewProblem(http.StatusInternalServerError, "internal_error", "Internal error", "the request could not be completed"))
	}
}

// audit records a change and publishes its webhook event when topic is set.
// RecordAudit appends an entry to p's tenant's audit trail for an action
// another surface performed (webhook recovery), so the trail is one per
// tenant whichever API acted.
func (s *Service) RecordAudit(ctx context.Context, p *core.Principal, action, target string, details map[string]any) {
	s.audit(ctx, p, action, target, details)
}

func (s *Service) audit(ctx context.Context, p *core.Principal, action, target string, details map[string]any) {
	actorType, actorID := "admin", p.Tenant
	switch p.Kind {
	case core.KindApp, core.KindUser:
		actorType, actorID = "app", p.ClientID
	case core.KindOperator:
		actorType, actorID = "operator", "sandbox"
	}
	e := AuditEvent{ID: s.ids.New("aud"), Tenant: p.Tenant, Action: action, ActorType: actorType, ActorID: actorID,
		Target: target, Details: details, OccurredAt: s.clock.Now().UTC()}
	if err := s.store.AppendAudit(ctx, e); err != nil {
		s.log.Error("audit append failed", "err", err)
	}
}

func (s *Service) publish(ctx context.Context, tenant, topic string, data map[string]any) {
	if s.events == nil {
		return
	}
	if _, err := s.events.Publish(ctx, tenant, topic, data); err != nil {
		core.Logger(ctx, s.log).Warn("event not published", "topic", topic, "err", err)
	}
}

func actorOf(p *core.Principal) map[string]any {
	if p.Kind == core.KindAdmin {
		return map[string]any{"type": "admin", "id": p.Tenant}
	}
	return map[string]any{"type": "app", "id": p.Subject, "client_id": p.ClientID}
}
