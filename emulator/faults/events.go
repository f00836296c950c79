package faults

import "time"

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
	// Limit keeps the most recent Limit firings (0 for all).
	Limit int
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
	if len(e.events) >= e.cfg.MaxEvents {
		e.events = append(e.events[:0], e.events[len(e.events)-e.cfg.MaxEvents+1:]...)
	}
	e.events = append(e.events, ev)
	e.log.Info("fault fired", "rule", ev.Rule, "action", ev.Action, "detail", ev.Detail,
		"request_id", ev.RequestID, "operation", ev.Operation, "delivery_id", ev.DeliveryID)
	if e.cfg.OnFire != nil {
		e.cfg.OnFire(ev)
	}
	return ev
}

// Events lists recorded firings, oldest first.
func (e *Engine) Events(f EventFilter) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []Event{}
	for _, ev := range e.events {
		if f.Rule == "" || ev.Rule == f.Rule {
			out = append(out, ev)
		}
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[len(out)-f.Limit:]
	}
	return out
}
