package webhooks

import (
	"context"
	"fmt"
)

// Shutdown stops the engine gracefully: new events are refused (ErrClosed)
// and idle waiters answered ErrClosed at once, while the deliveries already
// accepted keep going until none is queued or in flight, or ctx ends. Then
// the engine closes as Close does: the attempts still in flight are
// abandoned, and the deliveries still queued and the retries scheduled for
// later stop here. A memory store loses them; a durable store keeps them
// pending, and the next start (or another engine on the same database)
// resumes them. Shutdown logs at warn level how many, and returns the
// number of deliveries still queued or in flight.
func (s *Service) Shutdown(ctx context.Context) int {
	s.disp.stop()
	_ = s.disp.drain(ctx)
	pending, scheduled := s.disp.unsettled()
	_ = s.Close()
	fate := "were dropped"
	if s.store.Durable() {
		fate = "stay pending in the store and resume at the next start"
	}
	switch {
	case pending > 0:
		s.log.Warn(fmt.Sprintf("%d deliveries still queued %s", pending, fate),
			"dropped", pending, "retries_scheduled", scheduled, "durable", s.store.Durable())
	case scheduled > 0:
		s.log.Warn(fmt.Sprintf("%d retries scheduled for later %s", scheduled, fate),
			"retries_scheduled", scheduled, "durable", s.store.Durable())
	default:
		s.log.Info("every accepted delivery was attempted before shutdown")
	}
	return pending
}
