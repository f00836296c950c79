package sandboxtest

import (
	"context"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// FaultRule is one fault rule, the shape of an entry of the --faults file
// and of POST /_sandbox/faults (see specs/faults.schema.json); its parts
// (client.FaultMatch, client.FaultWhen, client.FaultAction…) are in
// package client.
type FaultRule = client.FaultRule

// Error is an error answer of the sandbox: an RFC 9457 problem with the
// sandbox's stable code and, for invalid requests, the offending fields.
type Error = client.Error

// FieldError names one offending field of a refused request.
type FieldError = client.FieldError

// Health reports whether the sandbox answers GET /healthz.
func (s *Sandbox) Health(ctx context.Context) error {
	_, err := s.api.Sandbox().Health(ctx)
	return err
}

// Reset returns every surface to the fixture state (apps, tokens, webhooks,
// deliveries, cases; faults back to the WithFaults file; the clock back to
// real time). keepApps keeps registered apps and their credentials.
func (s *Sandbox) Reset(ctx context.Context, keepApps bool) error {
	_, err := s.api.Sandbox().Reset(ctx, keepApps)
	return err
}

// Now reads the sandbox's virtual clock.
func (s *Sandbox) Now(ctx context.Context) (time.Time, error) {
	st, err := s.api.Sandbox().Clock(ctx)
	return st.Now, err
}

// AdvanceClock moves the virtual clock forward by d and returns the new
// time. Everything that became due runs at once: webhook retries, token
// and code expiry, delayed deliveries. The sandbox refuses a negative d.
func (s *Sandbox) AdvanceClock(ctx context.Context, d time.Duration) (time.Time, error) {
	st, err := s.api.Sandbox().AdvanceClock(ctx, d)
	return st.Now, err
}

// TriggerEvent publishes a catalog event for a tenant as if it happened on
// the platform: the topic's example payload with data merged over it,
// delivered to every matching webhook. A case.* topic changes the stored
// case data["case"]["id"] (or creates one) and carries it as stored, so
// GraphQL answers what the event says. It returns the event's id.
func (s *Sandbox) TriggerEvent(ctx context.Context, tenant, topic string, data map[string]any) (string, error) {
	ev, err := s.api.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: tenant, Topic: topic, Data: data})
	return ev.EventID, err
}

// AddFault appends a fault rule; rules are evaluated in order.
func (s *Sandbox) AddFault(ctx context.Context, rule FaultRule) error {
	_, err := s.api.Sandbox().AddFault(ctx, rule)
	return err
}

// ClearFaults removes every fault rule (the firing log is kept).
func (s *Sandbox) ClearFaults(ctx context.Context) error { return s.api.Sandbox().ClearFaults(ctx) }

// RemoveFault deletes the fault rule name; a rule that does not exist is an
// *Error with status 404.
func (s *Sandbox) RemoveFault(ctx context.Context, name string) error {
	return s.api.Sandbox().DeleteFault(ctx, name)
}
