package client

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"
)

// SandboxAPI is the sandbox's control plane (specs/sandbox.yaml): every
// call but Health and SpecFile carries the operator token.
type SandboxAPI struct{ c *Client }

// Health is the answer of GET /healthz.
type Health struct {
	Status string `json:"status"`
	// Time is the sandbox clock.
	Time time.Time `json:"time"`
}

// Health reports whether the sandbox is serving (GET /healthz, public).
func (s SandboxAPI) Health(ctx context.Context) (Health, error) {
	var out Health
	err := s.c.do(ctx, call{method: http.MethodGet, path: "/healthz", want: http.StatusOK, out: &out})
	return out, err
}

// SpecFile downloads a published spec file (GET /openapi/{name}, public):
// platform.yaml, faults.schema.json, schema.graphql…
func (s SandboxAPI) SpecFile(ctx context.Context, name string) ([]byte, error) {
	var data []byte
	err := s.c.do(ctx, call{method: http.MethodGet, path: "/openapi/" + escape(name), want: http.StatusOK, raw: &data})
	return data, err
}

// ResetResult is the answer of POST /_sandbox/reset.
type ResetResult struct {
	ResetAt  time.Time `json:"reset_at"`
	KeptApps bool      `json:"kept_apps"`
	// Tenant is the tenant reset alone ("" when the whole sandbox was).
	Tenant string `json:"tenant,omitempty"`
}

// resetRequest is the body of POST /_sandbox/reset.
type resetRequest struct {
	KeepApps bool   `json:"keep_apps,omitempty"`
	Tenant   string `json:"tenant,omitempty"`
}

// Reset returns every surface to the fixture state: apps (unless
// keepApps), tokens, webhooks, deliveries and cases; fault rules back to
// the --faults file; the clock back to real time.
func (s SandboxAPI) Reset(ctx context.Context, keepApps bool) (ResetResult, error) {
	var out ResetResult
	err := s.c.control(ctx, http.MethodPost, "/_sandbox/reset", resetRequest{KeepApps: keepApps}, http.StatusOK, &out)
	return out, err
}

// ResetTenant returns one tenant to its initial state: its data (its apps
// too unless keepApps), its fault rules and its clock. With a tenant's
// control token, tenant may be "" (its own) and naming another is refused.
func (s SandboxAPI) ResetTenant(ctx context.Context, tenant string, keepApps bool) (ResetResult, error) {
	var out ResetResult
	err := s.c.control(ctx, http.MethodPost, "/_sandbox/reset", resetRequest{KeepApps: keepApps, Tenant: tenant}, http.StatusOK, &out)
	return out, err
}

// ClockState is the sandbox clock, or a tenant's.
type ClockState struct {
	// Now is the virtual time every surface uses.
	Now    time.Time `json:"now"`
	Frozen bool      `json:"frozen"`
	// Offset is how far the clock is from real time.
	Offset Duration `json:"offset"`
	// PendingTimers counts scheduled work waiting for its time.
	PendingTimers int `json:"pending_timers"`
	// Tenant is the tenant whose clock this is ("" for the sandbox clock).
	Tenant string `json:"tenant,omitempty"`
}

// ClockUpdate changes the clock (POST /_sandbox/clock): Reset first
// returns it to real time, then Freeze stops or restarts it, then Advance
// or Set moves it (at most one of them). Advance is a pointer so that an
// advance of zero, which still runs what is due, is sent.
type ClockUpdate struct {
	Advance *Duration  `json:"advance,omitempty"`
	Set     *time.Time `json:"set,omitempty"`
	Freeze  *bool      `json:"freeze,omitempty"`
	Reset   bool       `json:"reset,omitzero"`
	// Tenant changes that tenant's clock alone; without it the operator
	// token moves the sandbox clock and every tenant's, and a control
	// token its own tenant's.
	Tenant string `json:"tenant,omitempty"`
}

// Clock reads the virtual clock.
func (s SandboxAPI) Clock(ctx context.Context) (ClockState, error) {
	var out ClockState
	err := s.c.control(ctx, http.MethodGet, "/_sandbox/clock", nil, http.StatusOK, &out)
	return out, err
}

// TenantClock reads one tenant's clock (GET /_sandbox/clock?tenant=).
func (s SandboxAPI) TenantClock(ctx context.Context, tenant string) (ClockState, error) {
	var out ClockState
	err := s.c.do(ctx, call{method: http.MethodGet, path: "/_sandbox/clock", query: url.Values{"tenant": {tenant}},
		bearer: s.c.operator, want: http.StatusOK, out: &out})
	return out, err
}

// UpdateClock changes the clock; everything that became due runs at once.
func (s SandboxAPI) UpdateClock(ctx context.Context, u ClockUpdate) (ClockState, error) {
	var out ClockState
	err := s.c.control(ctx, http.MethodPost, "/_sandbox/clock", u, http.StatusOK, &out)
	return out, err
}

// AdvanceClock moves the clock forward by d, running webhook retries,
// token and code expiry and delayed deliveries that became due. The
// sandbox refuses a negative d.
func (s SandboxAPI) AdvanceClock(ctx context.Context, d time.Duration) (ClockState, error) {
	adv := Duration(d)
	return s.UpdateClock(ctx, ClockUpdate{Advance: &adv})
}

// ResetClock returns the clock to real time, running, without touching
// any other state.
func (s SandboxAPI) ResetClock(ctx context.Context) (ClockState, error) {
	return s.UpdateClock(ctx, ClockUpdate{Reset: true})
}

// EventTrigger publishes a catalog event for a tenant (POST
// /_sandbox/events): the topic's example with Data merged over it, Count
// times (1 when 0). A case.* topic changes the stored case Data["case"]["id"]
// (or creates one) and carries it as stored, unless Synthetic.
type EventTrigger struct {
	Tenant string         `json:"tenant"`
	Topic  string         `json:"topic"`
	Data   map[string]any `json:"data,omitempty"`
	Count  int            `json:"count,omitzero"`
	// Synthetic publishes a case.* topic free-form, changing no stored
	// case: for payloads about cases the sandbox does not hold.
	Synthetic bool `json:"synthetic,omitzero"`
}

// EventTriggered is the answer of POST /_sandbox/events.
type EventTriggered struct {
	// EventID is the first (with Count 1 the only) event's id.
	EventID string `json:"event_id"`
	// EventIDs are every event's id, in publish order.
	EventIDs []string `json:"event_ids"`
	Tenant   string   `json:"tenant"`
	Topic    string   `json:"topic"`
}

// TriggerEvent publishes events as if they happened on the platform; they
// are delivered to every matching webhook of the tenant.
func (s SandboxAPI) TriggerEvent(ctx context.Context, t EventTrigger) (EventTriggered, error) {
	var out EventTriggered
	err := s.c.control(ctx, http.MethodPost, "/_sandbox/events", t, http.StatusAccepted, &out)
	return out, err
}

// KeyRotationRequest is the body of POST /_sandbox/keys/rotate: StaleJWKS
// keeps serving the previous key set that long.
type KeyRotationRequest struct {
	StaleJWKS Duration `json:"stale_jwks,omitzero"`
}

// KeyRotation is the answer of POST /_sandbox/keys/rotate.
type KeyRotation struct {
	// KID is the new signing key's id.
	KID            string     `json:"kid"`
	RotatedAt      time.Time  `json:"rotated_at"`
	StaleJWKSUntil *time.Time `json:"stale_jwks_until,omitempty"`
}

// RotateKeys signs new tokens with a new key; the previous key stays in
// the JWKS so issued tokens still verify.
func (s SandboxAPI) RotateKeys(ctx context.Context, r KeyRotationRequest) (KeyRotation, error) {
	var out KeyRotation
	err := s.c.control(ctx, http.MethodPost, "/_sandbox/keys/rotate", r, http.StatusOK, &out)
	return out, err
}

// AccessDecisionRequest is a reviewer's decision: Decision is "approve" or
// "deny".
type AccessDecisionRequest struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason,omitempty"`
}

// AccessDecision is a decided access request.
type AccessDecision struct {
	ID         string `json:"id"`
	Tenant     string `json:"tenant"`
	Capability string `json:"capability"`
	// Status is "approved" or "denied".
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	DecidedAt time.Time `json:"decided_at"`
}

// DecideAccessRequest approves or denies a reviewed-access request as an
// Argus reviewer would.
func (s SandboxAPI) DecideAccessRequest(ctx context.Context, id string, d AccessDecisionRequest) (AccessDecision, error) {
	var out AccessDecision
	err := s.c.control(ctx, http.MethodPost, "/_sandbox/access-requests/"+escape(id)+"/decision", d, http.StatusOK, &out)
	return out, err
}

// SandboxWebhookRequest subscribes an endpoint of a tenant with a signing
// secret of the caller's choosing (see WebhookSecretKey for its form).
type SandboxWebhookRequest struct {
	Tenant      string   `json:"tenant"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description,omitempty"`
	Secret      string   `json:"secret"`
}

// SandboxWebhook is a webhook created through the control plane.
type SandboxWebhook struct {
	ID          string    `json:"id"`
	Tenant      string    `json:"tenant"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description"`
	Secret      string    `json:"secret"`
	CreatedAt   time.Time `json:"created_at"`
}

// CreateWebhook subscribes an endpoint exactly as Webhooks().Create does,
// but signing with the given secret, for test harnesses whose consumer
// already holds its secret. Manage it afterwards through Webhooks().
func (s SandboxAPI) CreateWebhook(ctx context.Context, r SandboxWebhookRequest) (SandboxWebhook, error) {
	var out SandboxWebhook
	err := s.c.control(ctx, http.MethodPost, "/_sandbox/webhooks", r, http.StatusCreated, &out)
	return out, err
}

// WebhooksIdle is the answer of GET /_sandbox/webhooks/idle.
type WebhooksIdle struct {
	// Idle is false when the wait timed out first.
	Idle bool `json:"idle"`
	// Now is the sandbox clock at the answer (the tenant's clock for a
	// wait for one tenant).
	Now time.Time `json:"now"`
}

// Idle waits at most timeout (real time; the server's default when 0)
// until no delivery work can progress without the clock moving.
func (s SandboxAPI) Idle(ctx context.Context, timeout time.Duration) (WebhooksIdle, error) {
	var q url.Values
	if timeout > 0 {
		q = url.Values{"timeout": {timeout.String()}}
	}
	var out WebhooksIdle
	err := s.c.do(ctx, call{method: http.MethodGet, path: "/_sandbox/webhooks/idle", query: q, bearer: s.c.operator,
		want: http.StatusOK, out: &out})
	return out, err
}

// TenantIdle is Idle for one tenant's delivery work alone (GET
// /_sandbox/webhooks/idle?tenant=): another tenant's slow endpoint does
// not hold it. The operator token names any tenant, a control token only
// its own.
func (s SandboxAPI) TenantIdle(ctx context.Context, tenant string, timeout time.Duration) (WebhooksIdle, error) {
	q := url.Values{"tenant": {tenant}}
	if timeout > 0 {
		q.Set("timeout", timeout.String())
	}
	var out WebhooksIdle
	err := s.c.do(ctx, call{method: http.MethodGet, path: "/_sandbox/webhooks/idle", query: q, bearer: s.c.operator,
		want: http.StatusOK, out: &out})
	return out, err
}

// IdlePoll is how long one request of WaitIdle waits.
const IdlePoll = 20 * time.Second

// WaitIdle blocks until delivery work has settled (nothing queued or in
// flight, no retry already due), asking again every IdlePoll while a
// consumer holds requests open, until ctx ends. Retries scheduled later
// on the sandbox clock do not count: advance the clock, then wait again.
func (s SandboxAPI) WaitIdle(ctx context.Context) error {
	for {
		st, err := s.Idle(ctx, IdlePoll)
		if err != nil {
			return errors.Join(err, ctx.Err())
		}
		if st.Idle {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
