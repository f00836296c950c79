package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
)

// Publish accepts an event of tenant for every enabled subscription to
// topic, and returns its id (also the webhook-id header of its
// deliveries). It implements the EventPublisher interface of the surfaces
// that emit events. It blocks while the delivery queue is full; once it
// returns nil the event is delivered or visibly failed, never dropped.
func (s *Service) Publish(ctx context.Context, tenant, topic string, data map[string]any) (string, error) {
	return s.publish(ctx, tenant, topic, data)
}

// Trigger publishes the catalog example of topic deep-merged with
// overrides, for the control plane's POST /_sandbox/events (like
// `stripe trigger`).
func (s *Service) Trigger(ctx context.Context, tenant, topic string, overrides map[string]any) (string, error) {
	example, ok := s.catalog.example(topic)
	if !ok {
		return "", fmt.Errorf("trigger %q: %w", topic, ErrUnknownTopic)
	}
	return s.publish(ctx, tenant, topic, deepMerge(example, overrides))
}

// publish delivers to the tenant's enabled subscribers of topic.
func (s *Service) publish(ctx context.Context, tenant, topic string, data map[string]any) (string, error) {
	if !s.catalog.has(topic) {
		return "", fmt.Errorf("publish %q: %w", topic, ErrUnknownTopic)
	}
	if _, ok := s.cfg.Fixtures.Tenant(tenant); !ok {
		return "", fmt.Errorf("publish to %q: %w", tenant, ErrUnknownTenant)
	}
	event, body, err := s.newEvent(tenant, topic, data)
	if err != nil {
		return "", err
	}
	hooks, err := s.store.ListWebhooks(ctx, tenant)
	if err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	accepted := 0
	for _, w := range hooks {
		if w.Disabled || !w.Subscribed(topic) {
			continue
		}
		// The first delivery decides acceptance: once one is queued the
		// event is accepted, and the rest bypass admission rather than
		// being dropped (at most MaxWebhooksPerTenant of them).
		admitted := true
		if err := s.disp.admit(ctx); err != nil {
			if accepted == 0 {
				return "", fmt.Errorf("publish: delivery queue full: %w", err)
			}
			admitted = false
		}
		// Once accepted, recording must not depend on the caller's context.
		d, err := s.newDelivery(context.WithoutCancel(ctx), w, event, body)
		if err != nil {
			if admitted {
				<-s.disp.slots
			}
			s.log.Error("record delivery", "webhook_id", w.ID, "event_id", event.ID, "err", err)
			continue
		}
		s.disp.enqueue(job{tenant: tenant, webhookID: w.ID, deliveryID: d.ID, trigger: TriggerInitial, admitted: admitted})
		accepted++
	}
	return event.ID, nil
}

// publishNotice publishes an engine notice (webhook.endpoint.disabled)
// from inside the engine, where blocking on admission could deadlock the
// workers: it bypasses admission.
func (s *Service) publishNotice(tenant, topic string, data map[string]any) {
	event, body, err := s.newEvent(tenant, topic, data)
	if err != nil {
		return
	}
	hooks, err := s.store.ListWebhooks(s.ctx, tenant)
	if err != nil {
		return
	}
	for _, w := range hooks {
		if w.Disabled || !w.Subscribed(topic) {
			continue
		}
		if d, err := s.newDelivery(s.ctx, w, event, body); err == nil {
			s.disp.enqueue(job{tenant: tenant, webhookID: w.ID, deliveryID: d.ID, trigger: TriggerInitial})
		}
	}
}

// newEvent builds the event and the exact body every delivery of it sends.
func (s *Service) newEvent(tenant, topic string, data map[string]any) (Event, []byte, error) {
	if data == nil {
		data = map[string]any{}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return Event{}, nil, fmt.Errorf("publish %q: data is not JSON: %w", topic, err)
	}
	ev := Event{ID: s.ids.New("evt"), Type: topic, Timestamp: s.clock.Now().UTC(), Tenant: tenant, Data: raw}
	body, err := json.Marshal(ev)
	if err != nil {
		return Event{}, nil, err
	}
	return ev, body, nil
}

func (s *Service) newDelivery(ctx context.Context, w Webhook, ev Event, body []byte) (Delivery, error) {
	now := s.clock.Now().UTC()
	return s.store.CreateDelivery(ctx, Delivery{
		ID: s.ids.New("dlv"), WebhookID: w.ID, Tenant: w.Tenant, Event: ev, Body: body,
		Status: StatusPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	})
}
