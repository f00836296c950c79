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
// later are dropped (the store is in memory). Shutdown logs at warn level
// how many, and returns the number of deliveries still queued or in flight.
func (s *Service) Shutdown(ctx context.Context) int {
	s.disp.stop()
	_ = s.disp.drain(ctx)
	pending, scheduled := s.disp.unsettled()
	_ = s.Close()
	switch {
	case pending > 0:
		s.log.Warn(fmt.Sprintf("%d deliveries still queued were dropped", pending),
			"dropped", pending, "retries_scheduled", scheduled)
	case scheduled > 0:
		s.log.Warn(fmt.Sprintf("%d retries scheduled for later were dropped", scheduled), "retries_scheduled", scheduled)
	default:
		s.log.Info("every accepted delivery was attempted before shutdown")
	}
	return pending
}
