package webhooks

import (
	"context"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// TestAttemptStartIsOnTheTenantsClock: an attempt records its start on its
// tenant's clock, as the delivery's other times are, not on the sandbox
// clock.
func TestAttemptStartIsOnTheTenantsClock(t *testing.T) {
	globex := core.NewVirtualClock(nil)
	globex.Freeze()
	globex.Advance(72 * time.Hour)
	t.Cleanup(globex.Close)
	s, clock := newTestService(t, func(c *Config) {
		c.TenantClock = func(tenant string) core.Clock {
			if tenant == "globex" {
				return globex
			}
			return c.Clock
		}
	})
	clock.Freeze()
	rc := newReceiver(t, nil)
	w := subscribe(t, s, "globex", rc.URL, "case.created")
	if _, err := s.Trigger(context.Background(), "globex", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	d := onlyDelivery(t, s, w)
	if len(d.Attempts) != 1 {
		t.Fatalf("attempts %+v, want 1", d.Attempts)
	}
	if got, want := d.Attempts[0].StartedAt, globex.Now().UTC(); !got.Equal(want) {
		t.Errorf("started_at %v, want the tenant's time %v (sandbox time %v)", got, want, clock.Now().UTC())
	}
	if got := d.Event.Timestamp; !got.Equal(globex.Now().UTC()) {
		t.Errorf("event timestamp %v, want the tenant's time %v", got, globex.Now().UTC())
	}
}
