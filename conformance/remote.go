package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/fixtures"
)

// RemoteSandbox is a sandbox that is already running (a container, `docker
// run`, another process), driven over HTTP only: the control plane
// (/_sandbox/...) with the operator token, the webhooks API with the
// tenant's admin token, and the platform API as an integrator calls it.
type RemoteSandbox struct {
	// URL is its base URL, e.g. http://127.0.0.1:8080.
	URL string
	// OperatorToken is the control plane's bearer ("" for a loopback
	// sandbox started without one).
	OperatorToken string
	// AdminToken is the tenant's admin token; "" takes it from the
	// embedded fixtures (sandbox_admin_acme for acme).
	AdminToken string
	// ControlToken, when set, is the tenant's control token: the run
	// drives the control plane with it instead of OperatorToken, inside
	// that tenant alone.
	ControlToken string
	// FreshTenant makes the run create a tenant of its own with
	// OperatorToken, a copy of the fixture tenant Config.Tenant (its
	// policy, users and cases), run inside it with its tokens, and delete
	// it at the end, also when the run is interrupted: another tenant's
	// subscribers receive nothing from the run, its clock moves nobody
	// else's, and no tenant is left behind.
	FreshTenant bool
}

// sandbox is the run's sandbox as the runner drives it: over HTTP only,
// through package client, whether it runs elsewhere (RemoteSandbox) or the
// run started it in this process (startLocal). So a scenario runs the same
// way on either. Every method acts on the run's tenant.
type sandbox struct {
	url    string
	tenant string
	// c carries the operator token and the tenant's admin token.
	c *client.Client
	// observer is the runner's own app, so its reads never match fault
	// rules scoped to the consumer's app; token is its access token.
	observer client.Credentials
	token    string
	// registered are the ids of the apps this run registered, deleted at
	// its end so a shared sandbox does not collect them.
	registered []string
	// stop stops a sandbox the run started (nil for a RemoteSandbox).
	stop func()
	// drop deletes the run's own tenant (FreshTenant); nil once done or
	// when the run has none.
	drop func() error
	// controlField is the Config field of the control-plane token, for
	// errors ("" for Sandbox.OperatorToken).
	controlField string
}

// connect checks that the sandbox answers and that the operator and admin
// tokens open its control plane and the tenant's webhooks API, so a wrong
// URL or token is a setup error rather than a failed scenario.
func connect(ctx context.Context, rs RemoteSandbox, tenant string) (*sandbox, error) {
	u, err := url.Parse(rs.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &FieldError{Field: "Sandbox.URL", Reason: fmt.Sprintf("%q is not the sandbox's base URL, such as http://127.0.0.1:8080", rs.URL)}
	}
	if rs.FreshTenant {
		return connectFresh(ctx, rs, tenant)
	}
	admin := rs.AdminToken
	if admin == "" {
		t, ok := fixtures.MustDefault().Tenant(tenant)
		if !ok {
			return nil, &FieldError{Field: "Sandbox.AdminToken", Reason: fmt.Sprintf("is required: tenant %q is not a fixture tenant", tenant)}
		}
		admin = t.AdminToken
	}
	control := rs.OperatorToken
	if rs.ControlToken != "" {
		control = rs.ControlToken
	}
	s := &sandbox{url: rs.URL, tenant: tenant,
		c: client.New(rs.URL, client.WithOperatorToken(control), client.WithToken(admin))}
	if rs.ControlToken != "" {
		s.controlField = "Sandbox.ControlToken"
	}
	if err := s.check(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// connectFresh creates the run's own tenant as a copy of the fixture
// tenant template and connects with its tokens.
func connectFresh(ctx context.Context, rs RemoteSandbox, template string) (*sandbox, error) {
	op := client.New(rs.URL, client.WithOperatorToken(rs.OperatorToken))
	if _, err := op.Sandbox().Health(ctx); err != nil {
		op.HTTPClient().CloseIdleConnections()
		return nil, fmt.Errorf("sandbox at %s: %w", rs.URL, err)
	}
	created, err := op.Sandbox().CreateTenant(ctx, client.TenantCreate{Name: "conformance run", Template: template})
	if err != nil {
		op.HTTPClient().CloseIdleConnections()
		var ce *client.Error
		if errors.As(err, &ce) && (ce.Status == 401 || ce.Status == 403) {
			return nil, &FieldError{Field: "Sandbox.OperatorToken", Reason: "does not open the sandbox's control plane: " + err.Error()}
		}
		return nil, fmt.Errorf("creating the run's tenant on %s: %w", rs.URL, err)
	}
	s := &sandbox{url: rs.URL, tenant: created.ID,
		c: client.New(rs.URL, client.WithOperatorToken(created.ControlToken), client.WithToken(created.AdminToken))}
	s.drop = func() error {
		// The run's context may be cancelled (an interrupt): the tenant
		// goes all the same.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		defer op.HTTPClient().CloseIdleConnections()
		return op.Sandbox().DeleteTenant(ctx, created.ID)
	}
	if err := s.check(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dropTenant deletes the run's own tenant, once; nil when it has none.
func (s *sandbox) dropTenant() error {
	drop := s.drop
	s.drop = nil
	if drop == nil {
		return nil
	}
	return drop()
}

// check makes one call with each credential.
func (s *sandbox) check(ctx context.Context) error {
	if _, err := s.c.Sandbox().Health(ctx); err != nil {
		return fmt.Errorf("sandbox at %s: %w", s.url, err)
	}
	if _, err := s.c.Sandbox().Clock(ctx); err != nil {
		field := "Sandbox.OperatorToken"
		if s.controlField != "" {
			field = s.controlField
		}
		return &FieldError{Field: field, Reason: "does not open the sandbox's control plane: " + err.Error()}
	}
	if _, err := s.c.Webhooks().List(ctx, client.ListOptions{Limit: 1}); err != nil {
		return &FieldError{Field: "Sandbox.AdminToken", Reason: fmt.Sprintf("does not open the webhooks API of tenant %s: %v", s.tenant, err)}
	}
	return nil
}

// Close closes the run's connections to the sandbox and stops a sandbox
// the run started; one that was running before the run belongs to whoever
// started it. The connections go first: an HTTP server's graceful
// shutdown waits up to 5 s for a connection that was opened but never
// used (one the client's pool dialled for a burst of parallel reads).
func (s *sandbox) Close() {
	_ = s.dropTenant()
	s.c.HTTPClient().CloseIdleConnections()
	if s.stop != nil {
		s.stop()
	}
}

// Subscribe creates a webhook that signs with secret; it returns its id.
func (s *sandbox) Subscribe(ctx context.Context, hook string, topics []string, description, secret string) (string, error) {
	w, err := s.c.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: s.tenant, URL: hook, Events: topics,
		Description: description, Secret: secret})
	return w.ID, err
}

// DeleteWebhook removes a webhook with any retry still pending.
func (s *sandbox) DeleteWebhook(ctx context.Context, id string) error {
	return s.c.Webhooks().Delete(ctx, id)
}

// AddFault adds a fault rule at the end of the rule set.
func (s *sandbox) AddFault(ctx context.Context, r client.FaultRule) error {
	_, err := s.c.Sandbox().AddFault(ctx, r)
	return err
}

// DeleteFault removes a fault rule.
func (s *sandbox) DeleteFault(ctx context.Context, name string) error {
	return s.c.Sandbox().DeleteFault(ctx, name)
}

// FaultFired reports how often a rule has fired.
func (s *sandbox) FaultFired(ctx context.Context, name string) (int, error) {
	st, err := s.c.Sandbox().Fault(ctx, name)
	return st.Fired, err
}

// ResetClock returns the virtual clock to real time, running.
func (s *sandbox) ResetClock(ctx context.Context) error {
	_, err := s.c.Sandbox().ResetClock(ctx)
	return err
}

// Advance moves the virtual clock, running everything that became due.
func (s *sandbox) Advance(ctx context.Context, d time.Duration) error {
	_, err := s.c.Sandbox().AdvanceClock(ctx, d)
	return err
}

// WaitIdle blocks until no delivery work can progress without the clock
// moving.
func (s *sandbox) WaitIdle(ctx context.Context) error { return s.c.Sandbox().WaitIdle(ctx) }

// Trigger publishes count catalog events, each with its own id, with data
// merged over the topic's example, in one request; it returns their ids
// in publish order. Scenarios script their payloads (a case's version and
// status per event, cases of their own that the sandbox does not hold, a
// version replayed), so they are published synthetic: bound to a stored
// case, each event would carry that case's next version instead.
func (s *sandbox) Trigger(ctx context.Context, topic string, data map[string]any, count int) ([]string, error) {
	ev, err := s.c.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: s.tenant, Topic: topic, Data: data, Count: count, Synthetic: true})
	return ev.EventIDs, err
}

// Redeliver queues one more attempt of a delivery.
func (s *sandbox) Redeliver(ctx context.Context, webhookID, deliveryID string) error {
	_, err := s.c.Webhooks().Redeliver(ctx, webhookID, deliveryID)
	return err
}

// Deliveries lists a webhook's deliveries (of one event when eventID is
// set), oldest first, with their attempts: it pages through the list
// (newest first), then reads every delivery, a few at a time.
func (s *sandbox) Deliveries(ctx context.Context, webhookID, eventID string) ([]client.Delivery, error) {
	w := s.c.Webhooks()
	f := client.DeliveryFilter{ListOptions: client.ListOptions{Limit: 100}, EventID: eventID}
	var ids []string
	for {
		page, err := w.Deliveries(ctx, webhookID, f)
		if err != nil {
			return nil, err
		}
		for _, d := range page.Data {
			ids = append(ids, d.ID)
		}
		if page.NextCursor == nil {
			break
		}
		f.Cursor = *page.NextCursor
	}
	slices.Reverse(ids)
	out := make([]client.Delivery, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = w.Delivery(ctx, webhookID, id)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
