package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Publish accepts an event of tenant for every enabled subscription to
// topic, and returns its id (also the webhook-id header of its
// deliveries). It implements the EventPublisher interface of the surfaces
// that emit events. It blocks while the delivery queue is full; once it
// returns nil the event's deliveries are in the store (on disk, with a
// durable store), so it is delivered or visibly failed, never dropped,
// even across a crash.
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
// payload is encoded once; each event is otherwise published as a
// separate Trigger would be (its own timestamp, waiting while the queue is
// full), except that the deliveries of consecutive events are stored
// together, in batches of up to maxOutbox while the queue has room, and
// the events of a batch go to the subscriptions listed for its first. On an
// error the events already stored stay published, and their ids are
// returned with it.
func (s *Service) TriggerN(ctx context.Context, tenant, topic string, overrides map[string]any, n int) ([]string, error) {
	_, raw, err := s.triggerData(tenant, topic, overrides, n)
	if err != nil {
		return nil, err
	}
	batch := min(n, maxOutbox)
	ob := outbox{ds: make([]Delivery, 0, batch), admitted: make([]bool, 0, batch), events: make([]Event, 0, batch),
		published: make([]string, 0, n), collect: true}
	defer s.giveBack(&ob)
	for range n {
		if err := s.stage(ctx, &ob, tenant, topic, raw); err != nil {
			return ob.published, err
		}
		if len(ob.ds) >= maxOutbox {
			if err := s.flush(ctx, &ob); err != nil {
				return ob.published, err
			}
		}
	}
	err = s.flush(ctx, &ob)
	return ob.published, err
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
	ob := new(outbox)
	ob.ds, ob.admitted, ob.events = ob.one[:0], ob.oneAdmitted[:0], ob.oneEvent[:0]
	defer s.giveBack(ob)
	if err := s.stage(ctx, ob, tenant, topic, data); err != nil {
		return "", err
	}
	id := ob.events[len(ob.events)-1].ID
	if err := s.flush(ctx, ob); err != nil {
		return "", err
	}
	return id, nil
}

// maxOutbox bounds the deliveries stored in one write.
const maxOutbox = 256

// outbox collects the deliveries of events being published, to store
// them in one write (flush) before they are queued and before the events
// count as published.
type outbox struct {
	ds       []Delivery
	admitted []bool // ds[i] holds an admission slot
	events   []Event
	// published are the ids of the events flushed, in publish order,
	// when collect is set.
	published []string
	collect   bool
	// hooks are the tenant's webhooks, listed by the first event staged
	// since the last flush; the events of one write share the listing.
	hooks  []Webhook
	listed bool
	// credit counts the admission slots waitRoom gave beyond the one
	// used at once: the next deliveries staged take them, and
	// giveBack frees those left.
	credit int
	// A single event to a single subscription (Publish's common case)
	// fits in these, so the outbox is one allocation.
	one         [1]Delivery
	oneAdmitted [1]bool
	oneEvent    [1]Event
}

// stage builds an event and its deliveries into ob, taking an admission
// slot for each delivery. When the queue is full it flushes ob first (the
// slots it holds are freed only once its jobs are queued) and then waits
// for room (dispatcher.waitRoom).
func (s *Service) stage(ctx context.Context, ob *outbox, tenant, topic string, data json.RawMessage) error {
	event, body, err := s.newEvent(tenant, topic, data)
	if err != nil {
		return err
	}
	if !ob.listed {
		if ob.hooks, err = s.store.ListWebhooks(ctx, tenant); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		ob.listed = true
	}
	hooks := ob.hooks
	now := event.Timestamp
	until := s.leaseUntil()
	accepted := 0
	for _, w := range hooks {
		if w.Disabled || !w.Subscribed(topic) {
			continue
		}
		// The first delivery decides acceptance: once one is admitted the
		// event is accepted, and the rest bypass admission rather than
		// being dropped (at most MaxWebhooksPerTenant of them).
		admitted := ob.credit > 0
		if admitted {
			ob.credit--
		} else {
			admitted = s.disp.tryAdmit()
		}
		if !admitted {
			if err := s.flush(ctx, ob); err != nil {
				return err
			}
			// Room for a write of many deliveries, not one slot: taken
			// as single slots free up, each delivery of a publisher
			// kept waiting would be a write of its own.
			n, err := s.disp.waitRoom(ctx)
			if err != nil {
				if accepted == 0 {
					return fmt.Errorf("publish: delivery queue full: %w", err)
				}
			} else {
				admitted, ob.credit = true, n-1
			}
		}
		ob.ds = append(ob.ds, Delivery{
			ID: s.ids.New("dlv"), WebhookID: w.ID, Tenant: w.Tenant, Event: event, Body: body,
			Status: StatusPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now,
			LeaseOwner: s.owner, LeaseUntil: until,
		})
		ob.admitted = append(ob.admitted, admitted)
		accepted++
	}
	ob.events = append(ob.events, event)
	return nil
}

// giveBack frees the admission slots ob holds as credit.
func (s *Service) giveBack(ob *outbox) {
	s.disp.freeSlots(ob.credit)
	ob.credit = 0
}

// flush stores ob's deliveries in one write and queues them; its events
// are then published. A delivery whose webhook went away meanwhile is left
// out (the rest are stored one by one); any other store error fails the
// outbox, ErrConflict included (an ID the store already holds: a seeded ID
// source replaying a stored run), so an event is never reported published
// without its deliveries. What was stored of a failed outbox is still
// delivered.
func (s *Service) flush(ctx context.Context, ob *outbox) error {
	if len(ob.ds) == 0 && len(ob.events) == 0 {
		return nil
	}
	// Once accepted, storing must not depend on the caller's context.
	ctx = context.WithoutCancel(ctx)
	var created []Delivery
	var err error
	if len(ob.ds) == 1 {
		// The common case (one subscription) takes the simpler write.
		var c Delivery
		if c, err = s.store.CreateDelivery(ctx, ob.ds[0]); err == nil {
			created = ob.ds[:1]
			created[0] = c
		}
	} else {
		created, err = s.store.CreateDeliveries(ctx, ob.ds)
	}
	admitted := ob.admitted
	switch {
	case err == nil:
	case errors.Is(err, ErrNotFound):
		created, admitted, err = s.createEach(ctx, ob)
	default:
		n := 0
		for _, a := range ob.admitted {
			if a {
				n++
			}
		}
		s.disp.freeSlots(n)
		created = nil
	}
	for i := range created {
		d := &created[i]
		s.disp.enqueue(job{tenant: d.Tenant, webhookID: d.WebhookID, deliveryID: d.ID, trigger: TriggerInitial, admitted: admitted[i], held: d})
	}
	events := ob.events
	// The queued jobs point into ds (and created may be ds): the next
	// deliveries go after them, never over them.
	ob.ds, ob.admitted, ob.events = ob.ds[len(ob.ds):], ob.admitted[:0], ob.events[:0]
	ob.hooks, ob.listed = nil, false
	if err != nil {
		return fmt.Errorf("publish: store deliveries: %w", err)
	}
	for _, e := range events {
		if s.cfg.Observer != nil {
			s.cfg.Observer.EventPublished(e)
		}
		if ob.collect {
			ob.published = append(ob.published, e.ID)
		}
	}
	return nil
}

// createEach stores ob's deliveries one by one, leaving out those whose
// webhook is gone (ErrNotFound), and returns those stored with their
// admission flags.
// The slots of the others are freed; on any other store error it stops
// there and returns it.
func (s *Service) createEach(ctx context.Context, ob *outbox) (created []Delivery, admitted []bool, err error) {
	for i, d := range ob.ds {
		var c Delivery
		if err == nil {
			c, err = s.store.CreateDelivery(ctx, d)
			if err == nil {
				created, admitted = append(created, c), append(admitted, ob.admitted[i])
				continue
			}
			if errors.Is(err, ErrNotFound) {
				s.log.Warn("webhook deleted while its delivery was stored", "webhook_id", d.WebhookID, "event_id", d.Event.ID)
				err = nil
			}
		}
		if ob.admitted[i] {
			s.disp.freeSlots(1)
		}
	}
	return created, admitted, err
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
			s.disp.enqueue(job{tenant: tenant, webhookID: w.ID, deliveryID: d.ID, trigger: TriggerInitial, held: &d})
		}
	}
}

// newEvent builds the event and the exact body every delivery of it sends.
// data is marshalData output, shared by the events of one
// TriggerN: it is never modified.
func (s *Service) newEvent(tenant, topic string, data json.RawMessage) (Event, []byte, error) {
	ev := Event{ID: s.ids.New("evt"), Type: topic, Timestamp: s.clockOf(tenant).Now().UTC(), Tenant: tenant, Data: data}
	body, err := EncodeEvent(ev)
	if err != nil {
		return Event{}, nil, err
	}
	return ev, body, nil
}

// EncodeEvent returns the body of ev as deliveries send and sign it:
// what json.Marshal(ev) does when ev.Data is
// marshalData output, except that the data's <, > and & stay as
// marshalData wrote them (json.Marshal would HTML-escape them again), and
// without reflection or re-compacting the data: the envelope is assembled
// from its parts. An event without data takes
// json.Marshal itself.
func EncodeEvent(ev Event) ([]byte, error) {
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
		LeaseOwner: s.owner, LeaseUntil: s.leaseUntil(),
	})
}
