package faults

import (
	"context"
	"time"
)

// Event records one firing of a rule: which rule, what it did, and to which
// request, token or delivery.
type Event struct {
	ID     string    `json:"id"`
	Rule   string    `json:"rule"`
	Action string    `json:"action"`
	Target Target    `json:"target"`
	At     time.Time `json:"at"`
	// Detail says what exactly happened ("503 with Retry-After: 30",
	// "delayed 2.4s").
	Detail string `json:"detail,omitempty"`

	// Requests.
	RequestID string `json:"request_id,omitempty"`
	Operation string `json:"operation,omitempty"`
	Method    string `json:"method,omitempty"`
	Path      string `json:"path,omitempty"`

	Tenant   string `json:"tenant,omitempty"`
	ClientID string `json:"client_id,omitempty"`

	// Deliveries.
	EndpointID string `json:"endpoint_id,omitempty"`
	Topic      string `json:"topic,omitempty"`
	EventID    string `json:"event_id,omitempty"`
	DeliveryID string `json:"delivery_id,omitempty"`
	Attempt    int    `json:"attempt,omitempty"`
}

// EventFilter selects firings from the log.
type EventFilter struct {
	// Rule keeps firings of one rule ("" for all).
	Rule string
	// Tenant keeps firings about one tenant's requests, tokens and
	// deliveries ("" for all).
	Tenant string
	// Limit keeps the most recent Limit firings of those selected (0 for
	// all).
	Limit int
}

// keeps reports whether f selects ev, its limit aside.
func (f EventFilter) keeps(ev Event) bool {
	return (f.Rule == "" || ev.Rule == f.Rule) && (f.Tenant == "" || ev.Tenant == f.Tenant)
}

// apply returns the firings of log (oldest first) f selects, oldest first.
func (f EventFilter) apply(log []Event) []Event {
	out := []Event{}
	for _, ev := range log {
		if f.keeps(ev) {
			out = append(out, ev)
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}

// appendBounded appends ev to log, dropping the oldest firings past keep.
func appendBounded(log []Event, ev Event, keep int) []Event {
	if keep > 0 && len(log) >= keep {
		log = append(log[:0], log[len(log)-keep+1:]...)
	}
	return append(log, ev)
}

// record appends ev to the bounded log; callers hold e.mu.
func (e *Engine) record(rs *ruleState, ev Event) Event {
	ev.ID = e.cfg.IDs.Token("fault", 10)
	ev.Rule, ev.Action, ev.Target = rs.rule.Name, rs.action, rs.target
	if rs.clock != nil {
		ev.At = rs.clock() // a tenant's rule fires in its tenant's time
	} else if ev.At.IsZero() {
		ev.At = e.cfg.Clock.Now()
	}
	if e.shared != nil {
		// Every replica's firings in one log, which any replica lists.
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		if err := e.shared.AppendEvent(ctx, ev, e.cfg.MaxEvents); err != nil {
			e.log.Error("logging a fault firing failed", "rule", ev.Rule, "error", err)
		}
		cancel()
	} else {
		e.events = appendBounded(e.events, ev, e.cfg.MaxEvents)
	}
	e.log.Info("fault fired", "rule", ev.Rule, "action", ev.Action, "detail", ev.Detail,
		"request_id", ev.RequestID, "operation", ev.Operation, "delivery_id", ev.DeliveryID)
	if e.cfg.OnFire != nil {
		e.cfg.OnFire(ev)
	}
	return ev
}

// Events lists recorded firings, oldest first: on a SharedStateStore
// those of every process sharing it.
func (e *Engine) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	if e.shared != nil {
		return e.shared.Events(ctx, f)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return f.apply(e.events), nil
}
