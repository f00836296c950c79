package emulator

import (
	"context"

	"github.com/knogin/argus-sandbox/emulator/control"
	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/emulator/journal"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// clientTenant names the tenant of an OAuth client for the journal (the
// token endpoint authenticates clients, not bearers).
func (sb *Sandbox) clientTenant(clientID string) (string, bool) {
	a, err := sb.platform.LookupClient(context.Background(), clientID)
	if err != nil {
		return "", false
	}
	return a.Tenant, true
}

// webhookStream streams published events and delivery attempts.
type webhookStream struct{ j *journal.Journal }

var _ webhooks.Observer = webhookStream{}

func (s webhookStream) EventPublished(e webhooks.Event) {
	s.j.PublishEvent(journal.Event{ID: e.ID, Type: e.Type, Tenant: e.Tenant, Timestamp: e.Timestamp})
}

func (s webhookStream) AttemptMade(a webhooks.AttemptReport) {
	d := journal.Delivery{DeliveryID: a.DeliveryID, EventID: a.EventID, WebhookID: a.WebhookID, Tenant: a.Tenant,
		Attempt: a.Attempt, Status: a.Status, LatencyMS: float64(a.Latency.Microseconds()) / 1000,
		Classification: a.Classification}
	if !a.NextRetryAt.IsZero() {
		next := a.NextRetryAt.UTC()
		d.NextRetryAt = &next
	}
	s.j.PublishDelivery(d)
}

// streamFault streams fault firings.
func streamFault(j *journal.Journal) func(faults.Event) {
	return func(ev faults.Event) {
		j.PublishFault(journal.Fault{Rule: ev.Rule, Tenant: ev.Tenant, Operation: ev.Operation,
			WebhookID: ev.EndpointID, Action: ev.Action})
	}
}

// The journal serves the control plane's journal endpoints as is.
var _ control.Journal = (*journal.Journal)(nil)
