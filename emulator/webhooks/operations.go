package webhooks

import (
	"context"
	"errors"
	"net/http"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// The methods below are the engine's programmatic API, shared by the
// management handlers and the conformance runner: one delivery
// implementation, whichever drives it. Every call is tenant-scoped.

// Webhook returns a webhook of tenant (with its secrets).
func (s *Service) Webhook(ctx context.Context, tenant, id string) (Webhook, error) {
	return s.store.GetWebhook(ctx, tenant, id)
}

// Webhooks returns the tenant's webhooks, oldest first.
func (s *Service) Webhooks(ctx context.Context, tenant string) ([]Webhook, error) {
	return s.store.ListWebhooks(ctx, tenant)
}

// Delete removes a webhook and its diagnostics; its pending retries find
// nothing to deliver when they come due.
func (s *Service) Delete(ctx context.Context, tenant, id string) error {
	if err := s.store.DeleteWebhook(ctx, tenant, id); err != nil {
		return err
	}
	s.forgetRecoveries(tenant, id)
	return nil
}

// Deliveries returns a webhook's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, tenant, webhookID string, f DeliveryFilter) ([]Delivery, error) {
	return s.store.ListDeliveries(ctx, tenant, webhookID, f)
}

// Delivery returns one delivery with its attempts.
func (s *Service) Delivery(ctx context.Context, tenant, webhookID, id string) (Delivery, error) {
	return s.store.GetDelivery(ctx, tenant, webhookID, id)
}

var (
	errDisabledProblem = func() *core.Problem {
		return core.NewProblem(http.StatusConflict, "webhook_disabled", "Webhook disabled",
			"the webhook is disabled; enable it with PATCH {\"status\":\"enabled\"} first")
	}
	errPendingProblem = func() *core.Problem {
		return core.NewProblem(http.StatusConflict, "delivery_pending", "Delivery pending",
			"the delivery is still pending; its next attempt is already scheduled")
	}
)

// Redeliver queues one new attempt of a finished delivery, with the same
// event id and body. A failed redelivery is not retried.
func (s *Service) Redeliver(ctx context.Context, tenant, webhookID, id string) (Delivery, error) {
	w, err := s.store.GetWebhook(ctx, tenant, webhookID)
	if err != nil {
		return Delivery{}, err
	}
	if w.Disabled {
		return Delivery{}, errDisabledProblem()
	}
	now := s.clockOf(tenant).Now().UTC()
	d, err := s.store.UpdateDelivery(ctx, tenant, webhookID, id, func(d *Delivery) error {
		if !d.Finished() {
			return errPendingProblem()
		}
		d.Status, d.NextAttemptAt, d.UpdatedAt = StatusPending, now, now
		d.LeaseOwner, d.LeaseUntil = s.owner, s.leaseUntil()
		return nil
	})
	if err != nil {
		return Delivery{}, err
	}
	held := d
	s.disp.enqueue(job{tenant: tenant, webhookID: webhookID, deliveryID: d.ID, trigger: TriggerRedelivery, held: &held})
	return d, nil
}

// TestResult is the outcome of a test send.
type TestResult struct {
	EventID    string
	DeliveryID string
	// Attempt is nil when a fault rule delayed or held the attempt.
	Attempt *Attempt
}

// Test sends a webhook.test event to this webhook only, now, and returns
// the first attempt's outcome. A failed test is retried like any delivery.
func (s *Service) Test(ctx context.Context, tenant, webhookID string) (TestResult, error) {
	w, err := s.store.GetWebhook(ctx, tenant, webhookID)
	if err != nil {
		return TestResult{}, err
	}
	if w.Disabled {
		return TestResult{}, errDisabledProblem()
	}
	data, _ := s.catalog.example("webhook.test")
	data = deepMerge(data, map[string]any{"webhook_id": w.ID})
	raw, err := marshalData("webhook.test", data)
	if err != nil {
		return TestResult{}, err
	}
	ev, body, err := s.newEvent(tenant, "webhook.test", raw)
	if err != nil {
		return TestResult{}, err
	}
	d, err := s.newDelivery(ctx, w, ev, body)
	if err != nil {
		return TestResult{}, err
	}
	s.disp.begin()
	defer s.disp.end()
	// The attempt belongs to the engine, not to the caller's request.
	res := TestResult{EventID: ev.ID, DeliveryID: d.ID}
	if a, made := s.process(s.ctx, job{tenant: tenant, webhookID: w.ID, deliveryID: d.ID, trigger: TriggerTest, held: &d}); made {
		res.Attempt = &a
	}
	return res, nil
}

// notFound maps store misses to the surface's 404, the same for another
// tenant's resources as for missing ones.
func notFound(err error, what string) error {
	if errors.Is(err, ErrNotFound) {
		return core.NotFoundProblem("no " + what + " with this id in the caller's tenant")
	}
	return err
}
