package conformance

import (
	"context"
	"time"

	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// engine is the sandbox a run delivers through. The runner drives only
// this interface, so a scenario runs identically on the embedded sandbox
// (embedded) and on one already running elsewhere (remote, over HTTP).
// Every method acts on the run's tenant.
type engine interface {
	// API is the sandbox's public API as an integrator calls it.
	API() *api
	// Subscribe creates a webhook that signs with secret; it returns its id.
	Subscribe(ctx context.Context, url string, topics []string, description, secret string) (string, error)
	// DeleteWebhook removes a webhook with any retry still pending.
	DeleteWebhook(ctx context.Context, id string) error
	AddFault(ctx context.Context, r faults.Rule) error
	DeleteFault(ctx context.Context, name string) error
	// FaultFired reports how often a rule has fired.
	FaultFired(ctx context.Context, name string) (int, error)
	// ResetClock returns the virtual clock to real time, running.
	ResetClock(ctx context.Context) error
	// Advance moves the virtual clock, running everything that became due.
	Advance(ctx context.Context, d time.Duration) error
	// Trigger publishes a catalog event with data merged over its example.
	Trigger(ctx context.Context, topic string, data map[string]any) (string, error)
	// Deliveries lists a webhook's deliveries (of one event when eventID
	// is set), oldest first, with their attempts.
	Deliveries(ctx context.Context, webhookID, eventID string) ([]webhooks.Delivery, error)
	Redeliver(ctx context.Context, webhookID, deliveryID string) error
	// WaitIdle blocks until no delivery work can progress without the
	// clock moving.
	WaitIdle(ctx context.Context) error
	Close()
}
