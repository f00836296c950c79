package webhooks

import (
	"context"
	"fmt"
	"maps"
)

// BindFunc binds one triggered event to stored state: given the trigger's
// overrides, it changes the stored object the event is about (or creates
// it) and returns the members of the event's data that describe it as
// stored. The GraphQL case store binds case.* events (the wiring adapts
// it).
type BindFunc func(ctx context.Context, overrides map[string]any) (map[string]any, error)

// TriggerBound is TriggerN for events about stored objects. The catalog
// example with overrides merged over it must match the topic's schema
// before anything is stored (an *InvalidDataError otherwise); then, for
// each of the n events in turn, bind changes the stored object and the
// members it returns replace those of the merged data, so each event
// reports the object as stored after its own change. An error of bind is
// returned as it is, with the ids of the events already published. Once a
// shutdown has begun, ErrClosed comes before bind changes anything.
func (s *Service) TriggerBound(ctx context.Context, tenant, topic string, overrides map[string]any, n int, bind BindFunc) ([]string, error) {
	data, _, err := s.triggerData(tenant, topic, overrides, n)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, n)
	for range n {
		select {
		case <-s.disp.stopping: // refused before anything is stored
			return ids, fmt.Errorf("trigger %q: %w", topic, ErrClosed)
		default:
		}
		bound, err := bind(ctx, overrides)
		if err != nil {
			return ids, err
		}
		event := maps.Clone(data)
		maps.Copy(event, bound)
		raw, err := marshalData(topic, event)
		if err != nil {
			return ids, fmt.Errorf("trigger %q: %w", topic, err)
		}
		id, err := s.publish(ctx, tenant, topic, raw)
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}
