package control

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// WebhookSubscription is a webhook the operator creates with a signing
// secret of its choosing.
type WebhookSubscription struct {
	Tenant      string
	URL         string
	Events      []string
	Description string
	Secret      string
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

// ErrShuttingDown is what Webhooks.WaitIdle and EventTrigger.TriggerN wrap
// once the sandbox is shutting down: the work will not settle and new
// events are refused, and the caller is told so (503 shutting_down).
var ErrShuttingDown = errors.New("shutting down")

// Webhooks is the delivery engine as test harnesses drive it. Subscribe
// validates exactly as the management API does and returns its refusals
// as *core.Problem values; WaitIdle blocks until no delivery work can
// progress without the clock moving (ErrShuttingDown once a shutdown began).
type Webhooks interface {
	Subscribe(ctx context.Context, sub WebhookSubscription) (SandboxWebhook, error)
	WaitIdle(ctx context.Context) error
	// WaitTenantIdle is WaitIdle for one tenant's delivery work alone,
	// what a tenant's control token waits for.
	WaitTenantIdle(ctx context.Context, tenant string) error
}

// Bounds of GET /_sandbox/webhooks/idle's timeout.
const (
	defaultIdleTimeout = 30 * time.Second
	maxIdleTimeout     = 5 * time.Minute
)

func (s *Service) createWebhook(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Tenant      string   `json:"tenant"`
		URL         string   `json:"url"`
		Events      []string `json:"events"`
		Description string   `json:"description"`
		Secret      string   `json:"secret"`
	}
	if !decode(w, r, &in) || !s.available(w, r, s.cfg.Webhooks != nil, "creating webhooks") {
		return
	}
	if _, ok := s.scope(w, r, in.Tenant); !ok {
		return
	}
	if !s.knownTenant(in.Tenant) {
		core.WriteProblem(w, r, core.NewProblem(http.StatusUnprocessableEntity, "unprocessable", "Unprocessable Content",
			"the webhook names an unknown tenant").WithField("/tenant", "no tenant has this id"))
		return
	}
	wh, err := s.cfg.Webhooks.Subscribe(r.Context(), WebhookSubscription{Tenant: in.Tenant, URL: in.URL,
		Events: in.Events, Description: in.Description, Secret: in.Secret})
	var p *core.Problem
	switch {
	case errors.As(err, &p):
		core.WriteProblem(w, r, p)
	case err != nil:
		s.fail(w, r, "creating the webhook", err)
	default:
		s.log.Info("webhook created with a chosen secret", "webhook_id", wh.ID, "tenant", wh.Tenant,
			"request_id", core.RequestIDFrom(r.Context()))
		w.Header().Set("Location", "/v1/webhooks/"+wh.ID)
		core.WriteJSON(w, http.StatusCreated, wh)
	}
}

// waitIdle long-polls the delivery engine. The timeout is real time: the
// virtual clock may be frozen while the caller waits.
func (s *Service) waitIdle(w http.ResponseWriter, r *http.Request) {
	if !s.available(w, r, s.cfg.Webhooks != nil, "waiting for deliveries") {
		return
	}
	timeout := defaultIdleTimeout
	if v := r.URL.Query().Get("timeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxIdleTimeout {
			core.WriteProblem(w, r, invalid("timeout", "must be a positive duration of at most 5m, such as 10s"))
			return
		}
		timeout = d
	}
	// A control token waits for its own tenant's work; the operator for
	// everything, or for the tenant it names.
	tenant, ok := s.queryScope(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	wait := s.cfg.Webhooks.WaitIdle
	if tenant != "" {
		wait = func(ctx context.Context) error { return s.cfg.Webhooks.WaitTenantIdle(ctx, tenant) }
	}
	err := wait(ctx)
	if r.Context().Err() != nil {
		return // the caller went away
	}
	if errors.Is(err, ErrShuttingDown) {
		core.WriteProblem(w, r, shuttingDown("deliveries still queued are being sent until its shutdown timeout, then dropped"))
		return
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{"idle": err == nil, "now": s.clockFor(tenant).Now().UTC()})
}

// shuttingDown is the 503 of a control-plane call refused because the
// sandbox is shutting down; detail says what happens to the work.
func shuttingDown(detail string) *core.Problem {
	return core.NewProblem(http.StatusServiceUnavailable, "shutting_down", "Shutting down", "the sandbox is shutting down: "+detail)
}
