package webhooks

import (
	"context"
	"time"
)

// DeliveryFaults is the fault seam of the delivery engine: the engine asks
// it once per attempt (not for duplicate copies, nor again for an attempt
// it already delayed or held) and carries out the plan. The faults package
// implements it by matching its rules; nil means no faults.
type DeliveryFaults interface {
	Plan(ctx context.Context, a AttemptInfo) AttemptPlan
}

// DeliveryFaultsFunc adapts a function to DeliveryFaults.
type DeliveryFaultsFunc func(ctx context.Context, a AttemptInfo) AttemptPlan

// Plan calls f.
func (f DeliveryFaultsFunc) Plan(ctx context.Context, a AttemptInfo) AttemptPlan { return f(ctx, a) }

// AttemptInfo describes the attempt about to be made.
type AttemptInfo struct {
	Tenant     string
	WebhookID  string
	URL        string
	Topic      string
	EventID    string
	DeliveryID string
	// Attempt is the 1-based number of this attempt of the delivery.
	Attempt int
	Trigger Trigger
}

// ReorderOrder is how a held burst is released.
type ReorderOrder string

// Reorder orders.
const (
	ReorderReverse ReorderOrder = "reverse"
	ReorderShuffle ReorderOrder = "shuffle"
)

// Reorder holds deliveries to one endpoint until Count of them are
// collected (or MaxWait passed on the clock), then sends them in Order.
type Reorder struct {
	Count int
	Order ReorderOrder
	// MaxWait bounds the hold so a short burst is never stuck; 30 s when
	// zero.
	MaxWait time.Duration
}

// AttemptPlan is what a fault rule does to one attempt. The zero plan is a
// normal attempt.
type AttemptPlan struct {
	// Rule names the matching rule; it is recorded on the attempt.
	Rule string
	// Copies extra identical requests are sent (same id, timestamp and
	// signature), after the attempt or, with ConcurrentCopies, alongside.
	Copies           int
	ConcurrentCopies bool
	// Delay postpones the attempt on the clock.
	Delay time.Duration
	// ResponseLost: the endpoint receives the request but its answer is
	// dropped, so the attempt fails and is retried.
	ResponseLost bool
	// BadSignature signs with a key that is not the endpoint's secret.
	BadSignature bool
	// StaleBy back-dates webhook-timestamp (the signature stays valid for
	// the stale timestamp), to test replay windows.
	StaleBy time.Duration
	// RotateSecret rotates the endpoint's secret just before the attempt
	// (the previous secret keeps signing for the default window).
	RotateSecret bool
	// Reorder holds this delivery in a burst released out of order.
	Reorder *Reorder
}

// maxCopies and maxReorder bound what a fault plan can ask for.
const (
	maxCopies  = 20
	maxReorder = 1000
)

func (p *AttemptPlan) normalise() {
	p.Copies = min(max(p.Copies, 0), maxCopies)
	p.Delay = max(p.Delay, 0)
	p.StaleBy = max(p.StaleBy, 0)
	if r := p.Reorder; r != nil {
		if r.Count < 2 {
			p.Reorder = nil
			return
		}
		r.Count = min(r.Count, maxReorder)
		if r.MaxWait <= 0 {
			r.MaxWait = 30 * time.Second
		}
		if r.Order != ReorderShuffle {
			r.Order = ReorderReverse
		}
	}
}

func (p *AttemptPlan) ruleName() *string {
	if p == nil || p.Rule == "" {
		return nil
	}
	r := p.Rule
	return &r
}
