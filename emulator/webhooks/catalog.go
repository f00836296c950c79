package webhooks

import (
	"errors"
	"maps"

	"github.com/knogin/argus-sandbox/fixtures"
)

// ErrUnknownTopic is wrapped by Publish and Trigger for a topic outside the
// event catalog.
var ErrUnknownTopic = errors.New("unknown event type")

// ErrUnknownTenant is wrapped by Publish and Trigger for a tenant the
// fixtures do not define.
var ErrUnknownTenant = errors.New("unknown tenant")

// catalog is the canonical event catalog from fixtures/events.yaml.
type catalog struct {
	types    []fixtures.EventType
	byTopic  map[string]*fixtures.EventType
	compiled schemas
}

func newCatalog(types []fixtures.EventType) *catalog {
	c := &catalog{types: types, byTopic: make(map[string]*fixtures.EventType, len(types))}
	for i := range types {
		c.byTopic[types[i].Type] = &c.types[i]
	}
	return c
}

func (c *catalog) has(topic string) bool {
	_, ok := c.byTopic[topic]
	return ok
}

// example returns a deep copy of the topic's example payload.
func (c *catalog) example(topic string) (map[string]any, bool) {
	t, ok := c.byTopic[topic]
	if !ok {
		return nil, false
	}
	return deepCopy(t.Example).(map[string]any), true
}

// deepCopy copies the maps and slices of a decoded YAML or JSON value.
func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = deepCopy(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}

// deepMerge overlays overrides on base, like `stripe trigger --override`:
// objects merge key by key, any other value (arrays and null included)
// replaces the base value.
func deepMerge(base, overrides map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, ov := range overrides {
		if om, ok := ov.(map[string]any); ok {
			if bm, ok := out[k].(map[string]any); ok {
				out[k] = deepMerge(bm, om)
				continue
			}
		}
		out[k] = deepCopy(ov)
	}
	return out
}
