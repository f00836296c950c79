package webhooks

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// TestWaitIdleSeesAnotherEnginesAttempt: two engines share a durable
// store, as replicas on one database do. While engine A has an attempt in
// flight, B's WaitIdle and WaitTenantIdle for the tenant hold (B's own
// dispatcher has nothing to do), another tenant's wait does not, and both
// return once the attempt is recorded.
func TestWaitIdleSeesAnotherEnginesAttempt(t *testing.T) {
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		arrived <- struct{}{}
		<-release
		return http.StatusOK, nil, "ok"
	})
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	shared := sharedStore{NewMemoryStore(0, 0)}
	a := newEngine(t, shared, clock, nil)
	b := newEngine(t, shared, clock, nil)
	subscribe(t, a, "acme", rc.URL, "case.created")
	if _, err := a.Publish(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(5 * time.Second):
		t.Fatal("the attempt never arrived")
	}
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.WaitTenantIdle(ctx, "globex"); err != nil {
		t.Errorf("another tenant's wait = %v, want idle at once", err)
	}
	waits := map[string]func(context.Context) error{
		"WaitIdle":       b.WaitIdle,
		"WaitTenantIdle": func(ctx context.Context) error { return b.WaitTenantIdle(ctx, "acme") },
	}
	done := map[string]chan error{}
	for name, wait := range waits {
		ch := make(chan error, 1)
		done[name] = ch
		go func() { ch <- wait(ctx) }()
	}
	time.Sleep(200 * time.Millisecond) // many polls of the store
	for name, ch := range done {
		select {
		case err := <-ch:
			t.Fatalf("B's %s returned (%v) while A's attempt was in flight", name, err)
		default:
		}
	}
	close(release)
	for name, ch := range done {
		if err := <-ch; err != nil {
			t.Errorf("B's %s after the attempt = %v, want idle", name, err)
		}
	}
	d := onlyDelivery(t, b, Webhook{Tenant: "acme", ID: shared.firstWebhook(t)})
	if d.Status != StatusSucceeded {
		t.Errorf("when B's wait returned the delivery was %s, want succeeded", d.Status)
	}
}
