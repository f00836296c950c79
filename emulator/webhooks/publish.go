package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Publish accepts an event of tenant for every enabled subscription to
// topic, and returns its id (also the webhook-id header of its
// deliveries). It implements the EventPublisher interface of the surfaces
// that emit events. It blocks while the delivery queue is full; once it
// returns nil the event is delivered or visibly failed, never dropped.
func (s *Service) Publish(ctx context.Context, tenant, topic string, data map[string]any) (string, error) {
	raw, err := s.eventData(tenant, topic, data)
	if err != nil {
		return "", err
	}
	return s.publish(ctx, tenant, topic, raw)
}

// Trigger publishes the catalog example of topic deep-merged with
// overrides, for the control plane's POST /_sandbox/events (like
// `stripe trigger`). The merged data must match the topic's schema; an
// *InvalidDataError names the fields that do not.
func (s *Service) Trigger(ctx context.Context, tenant, topic string, overrides map[string]any) (string, error) {
	ids, err := s.TriggerN(ctx, tenant, topic, overrides, 1)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// MaxTriggerCount bounds the events one TriggerN call publishes.
const MaxTriggerCount = 1000

// TriggerN publishes n events (1 to MaxTriggerCount) as Trigger does, each
// with its own event id, one after another, and returns their ids in
// publish order: one control-plane call that load-tests a consumer. The
// payload is encoded once; each event is otherwise published exactly as a
// separate Trigger would be (its own timestamp, the subscriptions of that
// moment, waiting while the queue is full). On an error the events
// already published stay published, and their ids are returned with it.
func (s *Service) TriggerN(ctx context.Context, tenant, topic string, overrides map[string]any, n int) ([]string, error) {
	_, raw, err := s.triggerData(tenant, topic, overrides, n)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, n)
	for range n {
		id, err := s.publish(ctx, tenant, topic, raw)
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// triggerData checks a trigger of n events and returns the catalog example
// of topic with overrides merged over it, decoded and encoded; the encoded
// data matches the topic's schema.
func (s *Service) triggerData(tenant, topic string, overrides map[string]any, n int) (map[string]any, json.RawMessage, error) {
	if n < 1 || n > MaxTriggerCount {
		return nil, nil, fmt.Errorf("trigger %q: count %d is outside 1..%d", topic, n, MaxTriggerCount)
	}
	example, ok := s.catalog.example(topic)
	if !ok {
		return nil, nil, fmt.Errorf("trigger %q: %w", topic, ErrUnknownTopic)
	}
	data := deepMerge(example, overrides)
	raw, err := s.eventData(tenant, topic, data)
	if err != nil {
		return nil, nil, err
	}
	if err := s.catalog.validate(topic, raw); err != nil {
		return nil, nil, fmt.Errorf("trigger %q: %w", topic, err)
	}
	return data, raw, nil
}

// eventData checks that tenant may publish topic and encodes the event's
// data (an empty object when nil).
func (s *Service) eventData(tenant, topic string, data map[string]any) (json.RawMessage, error) {
	if !s.catalog.has(topic) {
		return nil, fmt.Errorf("publish %q: %w", topic, ErrUnknownTopic)
	}
	if _, ok := s.cfg.Tenants.Tenant(tenant); !ok {
		return nil, fmt.Errorf("publish to %q: %w", tenant, ErrUnknownTenant)
	}
	return marshalData(topic, data)
}

// marshalData encodes an event's data as the platform sends it: <, > and &
// as themselves, not HTML-escaped as json.Marshal writes them, so a
// consumer that verifies a re-serialization instead of the bytes it
// received is found out by text that contains them.
func marshalData(topic string, data map[string]any) (json.RawMessage, error) {
	if data == nil {
		data = map[string]any{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil {
		return nil, fmt.Errorf("publish %q: data is not JSON: %w", topic, err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// publish delivers an event with the encoded data to the tenant's enabled
// subscribers of topic; eventData has checked tenant and topic.
func (s *Service) publish(ctx context.Context, tenant, topic string, data json.RawMessage) (string, error) {
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
	if s.cfg.Observer != nil {
		s.cfg.Observer.EventPublished(event)
	}
	return event.ID, nil
}

// publishNotice publishes an engine notice (webhook.endpoint.disabled)
// from inside the engine, where blocking on admission could deadlock the
// workers: it bypasses admission.
func (s *Service) publishNotice(tenant, topic string, data map[string]any) {
	raw, err := marshalData(topic, data)
	if err != nil {
		return
	}
	event, body, err := s.newEvent(tenant, topic, raw)
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
// data is marshalData output, shared by the events of one
// TriggerN: it is never modified.
func (s *Service) newEvent(tenant, topic string, data json.RawMessage) (Event, []byte, error) {
	ev := Event{ID: s.ids.New("evt"), Type: topic, Timestamp: s.clockOf(tenant).Now().UTC(), Tenant: tenant, Data: data}
	body, err := encodeEvent(ev)
	if err != nil {
		return Event{}, nil, err
	}
	return ev, body, nil
}

// encodeEvent returns what json.Marshal(ev) does when ev.Data is
// marshalData output, except that the data's <, > and & stay as
// marshalData wrote them (json.Marshal would HTML-escape them again), and
// without reflection or re-compacting the data: the envelope is assembled
// from its parts. An event without data takes
// json.Marshal itself.
func encodeEvent(ev Event) ([]byte, error) {
	ts, err := ev.Timestamp.MarshalJSON()
	if err != nil || len(ev.Data) == 0 {
		return json.Marshal(ev)
	}
	const (
		open     = `{"id":`
		typ      = `,"type":`
		stamp    = `,"timestamp":`
		tenant   = `,"tenant":`
		data     = `,"data":`
		overhead = len(open) + len(typ) + len(stamp) + len(tenant) + len(data) + 7 // 6 quotes, 1 brace
	)
	b := make([]byte, 0, overhead+len(ev.ID)+len(ev.Type)+len(ts)+len(ev.Tenant)+len(ev.Data))
	b = append(b, open...)
	b = core.AppendJSONString(b, ev.ID)
	b = append(b, typ...)
	b = core.AppendJSONString(b, ev.Type)
	b = append(b, stamp...)
	b = append(b, ts...)
	b = append(b, tenant...)
	b = core.AppendJSONString(b, ev.Tenant)
	b = append(b, data...)
	b = append(b, ev.Data...)
	return append(b, '}'), nil
}

func (s *Service) newDelivery(ctx context.Context, w Webhook, ev Event, body []byte) (Delivery, error) {
	now := s.clockOf(w.Tenant).Now().UTC()
	return s.store.CreateDelivery(ctx, Delivery{
		ID: s.ids.New("dlv"), WebhookID: w.ID, Tenant: w.Tenant, Event: ev, Body: body,
		Status: StatusPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
	})
}
