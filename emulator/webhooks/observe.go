package webhooks

import (
	"context"
	"log/slog"
	"time"
)

// AttemptReport is a finished delivery attempt as observers see it.
type AttemptReport struct {
	DeliveryID string
	EventID    string
	WebhookID  string
	Tenant     string
	Attempt    int
	// Status is the endpoint's answer (0 when there was none).
	Status  int
	Latency time.Duration
	// Classification is "succeeded" or the ErrorClass of the failure.
	Classification string
	// NextRetryAt is when the next attempt is due (zero: none).
	NextRetryAt time.Time
}

// Observer hears of published events and of every delivery attempt, as
// they happen (the sandbox's live stream). Its methods run on the
// publishing and delivering goroutines and must not block.
type Observer interface {
	EventPublished(e Event)
	AttemptMade(a AttemptReport)
}

// observeAttempt logs one delivery attempt and tells the observer.
func (s *Service) observeAttempt(ctx context.Context, d Delivery, a Attempt) {
	r := AttemptReport{DeliveryID: d.ID, EventID: d.Event.ID, WebhookID: d.WebhookID, Tenant: d.Tenant,
		Attempt: a.Number, Latency: time.Duration(a.DurationMS) * time.Millisecond,
		Classification: "succeeded", NextRetryAt: d.NextAttemptAt}
	if a.ResponseStatus != nil {
		r.Status = *a.ResponseStatus
	}
	if a.Error != nil {
		r.Classification = string(a.Error.Class)
	}
	if s.log.Enabled(ctx, slog.LevelInfo) {
		s.log.LogAttrs(ctx, slog.LevelInfo, "delivery attempt",
			slog.String("event_id", r.EventID), slog.String("webhook_id", r.WebhookID),
			slog.String("delivery_id", r.DeliveryID), slog.String("tenant", r.Tenant),
			slog.Int("attempt", r.Attempt), slog.Int("status", r.Status),
			slog.Int64("latency_ms", a.DurationMS), slog.String("classification", r.Classification))
	}
	if s.cfg.Observer != nil {
		s.cfg.Observer.AttemptMade(r)
	}
}
