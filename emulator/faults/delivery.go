package faults

import (
	"fmt"
	"strings"
	"time"
)

// DeliveryInfo describes one webhook delivery attempt, as the webhooks
// engine asks about it.
type DeliveryInfo struct {
	Tenant      string
	EndpointID  string
	EndpointURL string
	Topic       string
	EventID     string
	DeliveryID  string
	Attempt     int
}

// DeliveryPlan is what the firing delivery rules do to one attempt. The
// zero plan (Copies 1 once normalised) means deliver normally.
type DeliveryPlan struct {
	// Fired lists the firings, for delivery diagnostics.
	Fired []Event
	// Copies is how many times to send the attempt (1 normally).
	Copies int
	// Concurrent sends the copies at the same time instead of one after
	// the other.
	Concurrent bool
	// Delay postpones the attempt on the sandbox clock.
	Delay time.Duration
	// ResponseLost sends the attempt but treats it as failed whatever the
	// consumer answers, so it is retried.
	ResponseLost bool
	// BadSignature signs the attempt with a wrong key.
	BadSignature bool
	// StaleTimestamp signs the attempt with a timestamp this far in the past.
	StaleTimestamp time.Duration
	// TimestampOffset shifts the signing time (negative: past, positive:
	// future), on top of StaleTimestamp.
	TimestampOffset time.Duration
	// Signature spells the signature header ("" normally).
	Signature SignatureForm
	// Synthetic rewrites what is sent (nil normally).
	Synthetic *Synthetic
	// RotateSecret rotates the endpoint's signing secret before the attempt.
	RotateSecret bool
	// HoldForReorder holds the attempt until this many are held, then sends
	// the burst out of order (0: send at once).
	HoldForReorder int
}

// Rules names the rules that fired, in order.
func (p DeliveryPlan) Rules() []string {
	out := make([]string, len(p.Fired))
	for i, ev := range p.Fired {
		out[i] = ev.Rule
	}
	return out
}

// MatchDelivery evaluates the delivery rules for one attempt. Every firing
// rule contributes to the plan: copies and staleness take the largest
// value, delays and timestamp offsets add up, flags combine, the first
// signature form wins.
func (e *Engine) MatchDelivery(info DeliveryInfo) DeliveryPlan {
	plan := DeliveryPlan{Copies: 1}
	now := e.cfg.Clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.saveIfMatchedLocked(e.matchesLocked())
	for _, rs := range e.rules {
		m := rs.rule.Match
		if rs.target != TargetDelivery ||
			m.Tenant != "" && m.Tenant != info.Tenant ||
			m.Topic != "" && !matchTopic(m.Topic, info.Topic) ||
			m.Endpoint != "" && m.Endpoint != info.EndpointID && m.Endpoint != info.EndpointURL ||
			!e.fires(rs, now) {
			continue
		}
		a := rs.rule.Action
		var detail string
		switch {
		case a.Duplicate != nil:
			n := a.Duplicate.Copies
			if n < 2 {
				n = DefaultCopies
			}
			plan.Copies = max(plan.Copies, n)
			plan.Concurrent = plan.Concurrent || a.Duplicate.Concurrent
			detail = fmt.Sprintf("sent %d copies", n)
			if a.Duplicate.Concurrent {
				detail += " concurrently"
			}
		case a.Reorder != nil:
			n := a.Reorder.Burst
			if n < 2 {
				n = DefaultBurst
			}
			plan.HoldForReorder = max(plan.HoldForReorder, n)
			detail = fmt.Sprintf("held to reorder a burst of %d", n)
		case a.Delay != nil:
			plan.Delay = min(plan.Delay+time.Duration(a.Delay.For), MaxClockWait)
			detail = "delayed " + time.Duration(a.Delay.For).String()
		case a.ResponseLost != nil:
			plan.ResponseLost = true
			detail = "response treated as lost; the attempt counts as failed"
		case a.BadSignature != nil:
			plan.BadSignature = true
			detail = "signed with a wrong key"
		case a.StaleTimestamp != nil:
			by := time.Duration(a.StaleTimestamp.By)
			if by <= 0 {
				by = DefaultStaleTimestamp
			}
			plan.StaleTimestamp = max(plan.StaleTimestamp, by)
			detail = "timestamp " + by.String() + " in the past"
		case a.RotateSecret != nil:
			plan.RotateSecret = true
			detail = "endpoint secret rotated before the attempt"
		case a.TimestampOffset != nil:
			by := time.Duration(a.TimestampOffset.By)
			plan.TimestampOffset = max(min(plan.TimestampOffset+by, MaxClockWait), -MaxClockWait)
			detail = describeOffset(by)
		case a.Signature != nil:
			if plan.Signature == "" {
				plan.Signature = a.Signature.Form
			}
			detail = "signature header spelled " + string(a.Signature.Form)
		case a.Synthetic != nil:
			if plan.Synthetic == nil {
				plan.Synthetic = a.Synthetic
			}
			detail = "sent as a synthetic event"
			if a.Synthetic.Topic != "" {
				detail += " of topic " + a.Synthetic.Topic
			}
		}
		plan.Fired = append(plan.Fired, e.record(rs, Event{At: now, Detail: detail, Tenant: info.Tenant,
			EndpointID: info.EndpointID, Topic: info.Topic, EventID: info.EventID, DeliveryID: info.DeliveryID, Attempt: info.Attempt}))
	}
	return plan
}

// describeOffset says where an offset puts the signing time.
func describeOffset(by time.Duration) string {
	switch {
	case by < 0:
		return "signed " + (-by).String() + " in the past"
	case by > 0:
		return "signed " + by.String() + " in the future"
	}
	return "signed at real time"
}

// matchTopic matches a topic exactly or by a "case.*" prefix pattern.
func matchTopic(pattern, topic string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(topic, prefix)
	}
	return pattern == topic
}
