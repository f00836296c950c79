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
	// TimestampOffset shifts webhook-timestamp from real time (negative:
	// back-dated, positive: ahead); the signature is valid for the
	// shifted timestamp, to test replay windows and clock skew.
	TimestampOffset time.Duration
	// Signature spells the signature header or the signed parts in one of
	// the SignatureForms ("" normally).
	Signature SignatureForm
	// Rewrite sends the event as one the catalog does not have (nil
	// normally); it is signed as sent.
	Rewrite *Rewrite
	// RotateSecret rotates the endpoint's secret just before the attempt
	// (the previous secret keeps signing for the default window).
	RotateSecret bool
	// Reorder holds this delivery in a burst released out of order.
	Reorder *Reorder
}

// maxCopies, maxReorder and maxTimestampOffset bound what a fault plan
// can ask for.
const (
	maxCopies          = 20
	maxReorder         = 1000
	maxTimestampOffset = 30 * 24 * time.Hour
)

// Rewrite changes what one attempt sends: the event's type (when Topic is
// set) and its data (Data deep-merged over it).
type Rewrite struct {
	Topic string
	Data  map[string]any
}

// SignatureForm is how a fault spells one attempt's signature.
type SignatureForm string

// Signature forms: each is what a forger or a confused sender would send.
const (
	// SignatureMissing sends no webhook-signature header.
	SignatureMissing SignatureForm = "missing"
	// SignatureMalformed sends the correct MAC without its "v1," prefix.
	SignatureMalformed SignatureForm = "malformed"
	// SignatureUnknownVersion sends only "v2," and the correct MAC.
	SignatureUnknownVersion SignatureForm = "unknown_version"
	// SignatureIDSwapped sends a valid signature of the event's id under
	// another webhook-id.
	SignatureIDSwapped SignatureForm = "id_swapped"
	// SignatureBodyAltered signs the body, then sends it with one more
	// member.
	SignatureBodyAltered SignatureForm = "body_altered"
	// SignatureRetiredSecret signs only with the endpoint's previous
	// secret (a wrong key when it has none).
	SignatureRetiredSecret SignatureForm = "retired_secret"
	// SignatureLaterValid puts a wrong-key v1 and an unknown v1a signature
	// before the valid ones: a correct delivery.
	SignatureLaterValid SignatureForm = "later_valid"
)

func (p *AttemptPlan) normalise() {
	p.Copies = min(max(p.Copies, 0), maxCopies)
	p.Delay = max(p.Delay, 0)
	p.TimestampOffset = max(min(p.TimestampOffset, maxTimestampOffset), -maxTimestampOffset)
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
