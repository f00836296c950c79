package webhooks

import (
	"context"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// The backoff of an idle wait's questions to a durable store while it
// holds outstanding work: the first after idlePollMin, doubling up to
// idlePollMax. Another engine's attempt takes milliseconds, and a due
// delivery nobody holds is claimed within its PollInterval.
const (
	idlePollMin = 5 * time.Millisecond
	idlePollMax = 100 * time.Millisecond
)

// waitSettled waits until this engine's dispatcher is idle (wait; idle
// answers the same question at once) and, on a durable store, until the
// store holds no pending delivery (of tenant, or of every tenant when "")
// due on clock that another engine has leased or that nobody holds: the
// work of other replicas sharing the database, which this dispatcher
// never sees. Its own leased deliveries are left to the dispatcher, which
// tells an attempt in flight from a held burst waiting on the clock. The
// store is asked again with a short backoff while it answers busy; ctx
// bounds the whole wait, and a shutdown ends it with ErrClosed as before.
//
// The dispatcher is asked once more after the store answered idle: work
// of its own started in between (a retry's timer on a clock that moved)
// is in the store as this engine's lease, which the question skipped.
func (s *Service) waitSettled(ctx context.Context, tenant string, clock core.Clock, wait func(context.Context) error, idle func() bool) error {
	backoff := idlePollMin
	for {
		if err := wait(ctx); err != nil {
			return err
		}
		if !s.store.Durable() {
			return nil
		}
		busy, err := s.store.Outstanding(ctx, Outstanding{Tenant: tenant, Due: clock.Now(), Except: s.owner})
		switch {
		case err == nil && !busy:
			if idle() {
				return nil
			}
			continue
		case err != nil && ctx.Err() == nil:
			s.log.Error("ask the store for outstanding deliveries", "tenant", tenant, "err", err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-s.disp.stopping:
			t.Stop()
			return ErrClosed
		case <-t.C:
		}
		backoff = min(2*backoff, idlePollMax)
	}
}
