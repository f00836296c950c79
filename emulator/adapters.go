package emulator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/emulator/control"
	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/emulator/graphql"
	"github.com/knogin/argus-sandbox/emulator/oauth"
	"github.com/knogin/argus-sandbox/emulator/platform"
	"github.com/knogin/argus-sandbox/emulator/sqlstore"
	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// clientDirectory presents the platform's apps to the token service: only
// approved grant types, redirect URIs and scopes are visible to it.
type clientDirectory struct{ p *platform.Service }

var _ oauth.ClientDirectory = clientDirectory{}

func (d clientDirectory) LookupClient(ctx context.Context, clientID string) (oauth.Client, error) {
	a, err := d.p.LookupClient(ctx, clientID)
	if err != nil {
		return oauth.Client{}, clientErr(err)
	}
	return toClient(&a), nil
}

func (d clientDirectory) Authenticate(ctx context.Context, clientID, secret string) (oauth.Client, bool, error) {
	a, ok, err := d.p.AuthenticateClient(ctx, clientID, secret)
	if err != nil {
		return oauth.Client{}, false, clientErr(err)
	}
	return toClient(&a), ok, nil
}

func clientErr(err error) error {
	if errors.Is(err, platform.ErrUnknownClient) {
		return oauth.ErrUnknownClient
	}
	return err
}

// toClient is what the token service sees of an app.
func toClient(a *platform.App) oauth.Client {
	return oauth.Client{
		ClientID: a.ClientID, AppID: a.ID, Tenant: a.Tenant, Name: a.Name,
		GrantTypes:   platform.ApprovedValues(a.GrantTypes),
		RedirectURIs: platform.ApprovedValues(a.RedirectURIs),
		Scopes:       platform.ApprovedValues(a.Scopes),
		Public:       a.Public,
	}
}

// durableClients is the client directory of a sandbox whose platform and
// token service share one database (st.db): a bearer token's record and
// its app are read in one statement (sqlstore AccessActiveApp), the
// verifier's whole cost before the handler's own reads.
type durableClients struct {
	clientDirectory
	tokens *sqlstore.OAuthStore
}

var _ oauth.TokenClients = durableClients{}

func (d durableClients) TokenClient(ctx context.Context, jti string, recorded bool, clientID string) (bool, oauth.Client, error) {
	active, a, err := d.tokens.AccessActiveApp(ctx, jti, recorded, clientID)
	switch {
	case errors.Is(err, platform.ErrNotFound):
		return active, oauth.Client{}, oauth.ErrUnknownClient
	case err != nil || !active:
		return false, oauth.Client{}, err
	}
	return true, toClient(&a), nil
}

// The signing keyring is used as is by the fault engine (rotate_keys,
// stale_jwks) and the control plane (POST /_sandbox/keys/rotate).
var (
	_ faults.KeyController = (*oauth.Keyring)(nil)
	_ control.KeyRotator   = (*oauth.Keyring)(nil)
)

// tokenMinter lets the platform mint service tokens through the token
// service.
type tokenMinter struct{ o *oauth.Service }

var _ platform.TokenMinter = tokenMinter{}

func (m tokenMinter) MintServiceToken(ctx context.Context, tenant, appID, clientID string, scopes []string, ttl time.Duration) (string, string, time.Time, error) {
	return m.o.MintServiceToken(ctx, oauth.ServiceTokenRequest{Tenant: tenant, AppID: appID, ClientID: clientID, Scopes: scopes, TTL: ttl})
}

func (m tokenMinter) RevokeTokenID(ctx context.Context, id string) error {
	return m.o.RevokeTokenID(ctx, id)
}

// deliveryFaults turns the fault engine's delivery plans into the webhook
// engine's attempt plans.
func deliveryFaults(eng *faults.Engine) webhooks.DeliveryFaults {
	return webhooks.DeliveryFaultsFunc(func(_ context.Context, a webhooks.AttemptInfo) webhooks.AttemptPlan {
		p := eng.MatchDelivery(faults.DeliveryInfo{Tenant: a.Tenant, EndpointID: a.WebhookID, EndpointURL: a.URL,
			Topic: a.Topic, EventID: a.EventID, DeliveryID: a.DeliveryID, Attempt: a.Attempt})
		out := webhooks.AttemptPlan{Rule: strings.Join(p.Rules(), ","), Delay: p.Delay, ResponseLost: p.ResponseLost,
			BadSignature: p.BadSignature, TimestampOffset: p.TimestampOffset - p.StaleTimestamp, RotateSecret: p.RotateSecret,
			Signature: webhooks.SignatureForm(p.Signature), ConcurrentCopies: p.Concurrent}
		if sy := p.Synthetic; sy != nil {
			out.Rewrite = &webhooks.Rewrite{Topic: sy.Topic, Data: sy.Data}
		}
		// The fault rule counts every send; the engine counts extra copies.
		if p.Copies > 1 {
			out.Copies = p.Copies - 1
		}
		if p.HoldForReorder > 0 {
			out.Reorder = &webhooks.Reorder{Count: p.HoldForReorder}
		}
		return out
	})
}

// tokenFaults lets fault rules distort issued token lifetimes.
type tokenFaults struct{ eng *faults.Engine }

var _ oauth.TokenFaults = tokenFaults{}

func (t tokenFaults) AccessTokenLifetime(ctx context.Context, ft oauth.FaultTarget) (time.Duration, string) {
	p, ok := t.eng.MatchToken(faults.TokenInfo{Tenant: ft.Tenant, ClientID: ft.ClientID, RequestID: core.RequestIDFrom(ctx)})
	if !ok {
		return ft.TTL, ""
	}
	return p.ExpiresIn, p.Fired.Rule
}

// accessDecider adapts the platform's reviewed-access decisions to the
// control plane.
type accessDecider struct{ p *platform.Service }

var _ control.AccessDecider = accessDecider{}

func (a accessDecider) DecideAccessRequest(ctx context.Context, tenant, id string, approve bool, reason string) (control.AccessDecision, error) {
	ar, err := a.p.DecideTenantAccessRequest(ctx, tenant, id, approve, reason)
	switch {
	case errors.Is(err, platform.ErrNotFound):
		return control.AccessDecision{}, fmt.Errorf("%w: %v", control.ErrNotFound, err)
	case errors.Is(err, platform.ErrConflict):
		return control.AccessDecision{}, fmt.Errorf("%w: %v", control.ErrConflict, err)
	case err != nil:
		return control.AccessDecision{}, err
	}
	return control.AccessDecision{ID: ar.ID, Tenant: ar.Tenant, Capability: ar.Capability, Status: ar.Status,
		Reason: ar.DecisionReason, DecidedAt: ar.DecidedAt}, nil
}

// auditLog presents the platform's audit trail to the GraphQL audit export.
type auditLog struct{ p *platform.Service }

var _ graphql.AuditLog = auditLog{}

func (a auditLog) AuditRecords(ctx context.Context, tenant string, since time.Time) ([]graphql.AuditRecord, error) {
	var out []graphql.AuditRecord
	err := a.p.EachAuditEvent(ctx, tenant, func(e platform.AuditEvent) error {
		if !e.OccurredAt.Before(since) {
			out = append(out, graphql.AuditRecord{ID: e.ID, Action: e.Action, Actor: e.ActorType + ":" + e.ActorID,
				Target: e.Target, OccurredAt: e.OccurredAt})
		}
		return nil
	})
	return out, err
}

// controlWebhooks lets the control plane subscribe endpoints with a chosen
// secret and wait for delivery work to settle.
type controlWebhooks struct{ w *webhooks.Service }

var _ control.Webhooks = controlWebhooks{}

func (c controlWebhooks) Subscribe(ctx context.Context, sub control.WebhookSubscription) (control.SandboxWebhook, error) {
	wh, err := c.w.Subscribe(ctx, sub.Tenant, webhooks.Subscription{URL: sub.URL, Events: sub.Events,
		Description: sub.Description, Secret: sub.Secret})
	if err != nil {
		return control.SandboxWebhook{}, err
	}
	return control.SandboxWebhook{ID: wh.ID, Tenant: wh.Tenant, URL: wh.URL, Events: wh.Events,
		Description: wh.Description, Secret: wh.Secret, CreatedAt: wh.CreatedAt.UTC()}, nil
}

// controlEvents lets the control plane trigger events, telling it when the
// engine refuses them because the sandbox is shutting down.
type controlEvents struct{ w *webhooks.Service }

var _ control.EventTrigger = controlEvents{}

func (c controlEvents) TriggerN(ctx context.Context, tenant, topic string, overrides map[string]any, n int) ([]string, error) {
	ids, err := c.w.TriggerN(ctx, tenant, topic, overrides, n)
	if errors.Is(err, webhooks.ErrClosed) {
		err = fmt.Errorf("%w: %w", control.ErrShuttingDown, err)
	}
	return ids, err
}

// caseEvents binds the control plane's case.* triggers to the GraphQL case
// store: each event's case is the case as stored after its change.
type caseEvents struct {
	w *webhooks.Service
	g *graphql.Service
}

var _ control.CaseEvents = caseEvents{}

func (c caseEvents) TriggerCaseN(ctx context.Context, tenant, topic string, overrides map[string]any, n int) ([]string, error) {
	ids, err := c.w.TriggerBound(ctx, tenant, topic, overrides, n, func(ctx context.Context, overrides map[string]any) (map[string]any, error) {
		return c.g.TriggerCase(ctx, tenant, topic, overrides)
	})
	switch {
	case errors.Is(err, webhooks.ErrClosed):
		err = fmt.Errorf("%w: %w", control.ErrShuttingDown, err)
	case errors.Is(err, graphql.ErrNotFound):
		err = fmt.Errorf("%w: %w", control.ErrNotFound, err)
	}
	return ids, err
}

func (c controlWebhooks) WaitIdle(ctx context.Context) error {
	return shuttingDown(c.w.WaitIdle(ctx))
}

func (c controlWebhooks) WaitTenantIdle(ctx context.Context, tenant string) error {
	return shuttingDown(c.w.WaitTenantIdle(ctx, tenant))
}

// shuttingDown tells the control plane that a wait ended because the
// engine is shutting down.
func shuttingDown(err error) error {
	if errors.Is(err, webhooks.ErrClosed) {
		return fmt.Errorf("%w: %w", control.ErrShuttingDown, err)
	}
	return err
}

// auditTrail lets webhooks write to the platform's audit trail. Webhooks
// is built before platform (platform publishes through it), so the adapter
// reaches the platform through the sandbox when an entry is written.
type auditTrail struct{ sb *Sandbox }

var _ webhooks.AuditTrail = auditTrail{}

func (a auditTrail) RecordAudit(ctx context.Context, p *core.Principal, action, target string, details map[string]any) {
	if a.sb.platform != nil {
		a.sb.platform.RecordAudit(ctx, p, action, target, details)
	}
}

// tenantLocale gives the router each tenant's locale, the language of its
// callers' display text when Accept-Language names none supported.
func tenantLocale(reg *tenants.Registry) func(tenant string) string {
	return func(tenant string) string {
		if t, ok := reg.Tenant(tenant); ok {
			return t.Locale
		}
		return ""
	}
}
