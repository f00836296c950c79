package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// record stores an attempt's result and decides what follows: success,
// a retry on the clock, or failure (with the endpoint disabled on 410 or
// after failing continuously for DisableAfter).
func (s *Service) record(ctx context.Context, w Webhook, deliveryID string, j job, res sendResult) {
	now := s.clockOf(w.Tenant).Now().UTC()
	ok := res.attempt.Succeeded()
	disableReason := ""
	if res.status == http.StatusGone {
		disableReason = "the endpoint answered 410 Gone"
	}
	// Endpoint health: a run of failures that lasts DisableAfter disables
	// the endpoint (Svix's rule); any success ends the run. The check runs
	// when a failed attempt comes after DisableAfter, and on the clock at
	// the end of the period, which disables an endpoint whose deliveries
	// have all failed finally before the period ended.
	if ok && !w.FailingSince.IsZero() || !ok && w.FailingSince.IsZero() {
		started := false
		if hw, err := s.store.UpdateWebhook(ctx, w.Tenant, w.ID, func(hw *Webhook) error {
			if ok {
				hw.FailingSince = time.Time{}
			} else if hw.FailingSince.IsZero() {
				hw.FailingSince, started = now, true
			}
			return nil
		}); err == nil {
			w = hw
		}
		if started {
			tenant, id := w.Tenant, w.ID
			s.disp.after(s.clockOf(tenant), s.cfg.DisableAfter, func() { s.disableIfFailingSince(tenant, id, now) })
		}
	}
	if !ok && disableReason == "" && !w.FailingSince.IsZero() && now.Sub(w.FailingSince) >= s.cfg.DisableAfter {
		disableReason = s.failingReason()
	}

	var wait time.Duration
	retry := false
	d, err := s.store.UpdateDelivery(ctx, w.Tenant, w.ID, deliveryID, func(d *Delivery) error {
		if d.LeaseOwner != s.owner {
			// This engine's lease lapsed (it stalled past Lease) and
			// another engine claimed the delivery: its record wins.
			return errLeaseLost
		}
		// The outcome, the next due time and the lease's release are
		// one write: a retry is claimed again when its timer fires.
		d.LeaseOwner, d.LeaseUntil = "", time.Time{}
		d.HeldIn, d.HoldSeq, d.HeldBy = 0, 0, ""
		d.addAttempt(res.attempt)
		for _, c := range res.copies {
			d.addAttempt(c)
		}
		d.AttemptCount++
		if j.trigger != TriggerRedelivery {
			d.AutoAttempts++
		}
		d.UpdatedAt = now
		d.NextAttemptAt = time.Time{}
		switch {
		case ok:
			d.Status = StatusSucceeded
		case disableReason != "" || j.trigger == TriggerRedelivery:
			d.Status = StatusFailed
		default:
			var scheduled bool
			wait, scheduled = s.retry.wait(d.AutoAttempts)
			if ra, has := retryAfter(res.status, res.header, now); has && scheduled {
				wait = ra
			}
			if scheduled {
				retry = true
				d.NextAttemptAt = now.Add(wait)
			} else {
				d.Status = StatusFailed
			}
		}
		return nil
	})
	if errors.Is(err, errLeaseLost) {
		s.log.Warn("attempt made after the delivery's lease lapsed; another engine owns it now",
			"webhook_id", w.ID, "delivery_id", deliveryID)
	}
	if err != nil {
		return // the webhook was deleted or the sandbox reset meanwhile
	}
	s.observeAttempt(ctx, d, res.attempt)
	if retry {
		next := job{tenant: d.Tenant, webhookID: d.WebhookID, deliveryID: d.ID, trigger: TriggerRetry, claim: true}
		s.disp.attemptAfter(s.clockOf(w.Tenant), wait, next)
	}
	if disableReason != "" {
		s.disable(ctx, w, disableReason, nil)
	}
}

// failingReason is the disabled reason of an endpoint that failed for
// DisableAfter.
func (s *Service) failingReason() string {
	return fmt.Sprintf("failing continuously for %s", formatPeriod(s.cfg.DisableAfter))
}

// disableIfFailingSince disables an endpoint whose run of failures began
// at since and has not ended (no success, no re-enabling) since.
func (s *Service) disableIfFailingSince(tenant, id string, since time.Time) {
	w, err := s.store.GetWebhook(s.ctx, tenant, id)
	if err != nil {
		return
	}
	s.disable(s.ctx, w, s.failingReason(), func(hw *Webhook) bool { return hw.FailingSince.Equal(since) })
}

// disable turns an endpoint off, fails its pending deliveries visibly and
// publishes webhook.endpoint.disabled to the tenant's other subscriptions.
// When still is set, the endpoint is disabled only if still holds for it.
func (s *Service) disable(ctx context.Context, w Webhook, reason string, still func(*Webhook) bool) {
	now := s.clockOf(w.Tenant).Now().UTC()
	skip := false
	w, err := s.store.UpdateWebhook(ctx, w.Tenant, w.ID, func(hw *Webhook) error {
		skip = hw.Disabled || still != nil && !still(hw)
		if !skip {
			hw.Disabled, hw.DisabledReason, hw.DisabledAt, hw.UpdatedAt = true, reason, now, now
		}
		return nil
	})
	if err != nil || skip {
		return
	}
	s.log.Warn("webhook endpoint disabled", "tenant", w.Tenant, "webhook_id", w.ID, "reason", reason)
	s.failPending(ctx, w)
	s.publishNotice(w.Tenant, "webhook.endpoint.disabled", map[string]any{
		"webhook_id": w.ID, "url": w.URL, "reason": reason,
	})
}

// failDisabled ends a pending delivery of a disabled endpoint with an
// attempt that says so, instead of dropping it silently.
func (s *Service) failDisabled(ctx context.Context, w Webhook, deliveryID string) {
	now := s.clockOf(w.Tenant).Now().UTC()
	_, _ = s.store.UpdateDelivery(ctx, w.Tenant, w.ID, deliveryID, func(d *Delivery) error {
		if d.Finished() {
			return nil
		}
		d.addAttempt(Attempt{
			Number: d.AttemptCount + 1, Trigger: TriggerRetry, StartedAt: now, Outcome: "failed",
			Error: &AttemptError{Class: ClassEndpointDisabled, Message: "not sent: the endpoint is disabled (" + w.DisabledReason + ")"},
		})
		d.AttemptCount++
		d.Status, d.NextAttemptAt, d.UpdatedAt = StatusFailed, time.Time{}, now
		return nil
	})
}

// formatPeriod renders whole days as "5 days", anything else as a duration.
func formatPeriod(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}
