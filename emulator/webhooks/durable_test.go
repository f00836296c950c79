package webhooks

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
)

// sharedStore is a MemoryStore that several engines use as they would a
// database: Durable, so each polls it and heartbeats its leases.
type sharedStore struct{ *MemoryStore }

func (sharedStore) Durable() bool { return true }

// firstWebhook returns the ID of acme's first webhook.
func (s sharedStore) firstWebhook(t *testing.T) string {
	ws, err := s.ListWebhooks(context.Background(), "acme")
	if err != nil || len(ws) == 0 {
		t.Fatalf("no webhook: %v", err)
	}
	return ws[0].ID
}

var errCut = errors.New("connection to the store lost")

// processStore is one engine's connection to a store. Cutting it fails
// every later call, as the store sees a SIGKILLed process: no record, no
// heartbeat, no release. It counts the delivery writes of publishing.
type processStore struct {
	Store
	cut     atomic.Bool
	creates atomic.Int32 // CreateDelivery and CreateDeliveries calls
	lists   atomic.Int32 // ListWebhooks calls
	fail    atomic.Bool  // CreateDeliveries and CreateDelivery fail (not a cut)
}

func (p *processStore) check() error {
	if p.cut.Load() {
		return errCut
	}
	return nil
}

func (p *processStore) CreateWebhook(ctx context.Context, w Webhook) (Webhook, error) {
	if err := p.check(); err != nil {
		return Webhook{}, err
	}
	return p.Store.CreateWebhook(ctx, w)
}

func (p *processStore) GetWebhook(ctx context.Context, tenant, id string) (Webhook, error) {
	if err := p.check(); err != nil {
		return Webhook{}, err
	}
	return p.Store.GetWebhook(ctx, tenant, id)
}

func (p *processStore) ListWebhooks(ctx context.Context, tenant string) ([]Webhook, error) {
	p.lists.Add(1)
	if err := p.check(); err != nil {
		return nil, err
	}
	return p.Store.ListWebhooks(ctx, tenant)
}

func (p *processStore) UpdateWebhook(ctx context.Context, tenant, id string, fn func(*Webhook) error) (Webhook, error) {
	if err := p.check(); err != nil {
		return Webhook{}, err
	}
	return p.Store.UpdateWebhook(ctx, tenant, id, fn)
}

func (p *processStore) CreateDelivery(ctx context.Context, d Delivery) (Delivery, error) {
	p.creates.Add(1)
	if err := p.check(); err != nil {
		return Delivery{}, err
	}
	if p.fail.Load() {
		return Delivery{}, errCut
	}
	return p.Store.CreateDelivery(ctx, d)
}

func (p *processStore) CreateDeliveries(ctx context.Context, ds []Delivery) ([]Delivery, error) {
	p.creates.Add(1)
	if err := p.check(); err != nil {
		return nil, err
	}
	if p.fail.Load() {
		return nil, errCut
	}
	return p.Store.CreateDeliveries(ctx, ds)
}

func (p *processStore) GetDelivery(ctx context.Context, tenant, webhookID, id string) (Delivery, error) {
	if err := p.check(); err != nil {
		return Delivery{}, err
	}
	return p.Store.GetDelivery(ctx, tenant, webhookID, id)
}

func (p *processStore) UpdateDelivery(ctx context.Context, tenant, webhookID, id string, fn func(*Delivery) error) (Delivery, error) {
	if err := p.check(); err != nil {
		return Delivery{}, err
	}
	return p.Store.UpdateDelivery(ctx, tenant, webhookID, id, fn)
}

func (p *processStore) ListDeliveries(ctx context.Context, tenant, webhookID string, f DeliveryFilter) ([]Delivery, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	return p.Store.ListDeliveries(ctx, tenant, webhookID, f)
}

func (p *processStore) ClaimDue(ctx context.Context, c Claim) ([]Delivery, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	return p.Store.ClaimDue(ctx, c)
}

func (p *processStore) ExtendLeases(ctx context.Context, owner string, until time.Time) (int, error) {
	if err := p.check(); err != nil {
		return 0, err
	}
	return p.Store.ExtendLeases(ctx, owner, until)
}

// newEngine starts an engine on st with the clock given, leases in real
// time; it is closed when the test ends.
func newEngine(t *testing.T, st Store, clock *core.VirtualClock, mutate func(*Config)) *Service {
	t.Helper()
	cfg := Config{Clock: clock, IDs: core.NewIDs(nil), Fixtures: fixtures.MustDefault(), AllowLocalTargets: true, Jitter: -1,
		Store: st, Lease: MinLease, PollInterval: 10 * time.Millisecond}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// tally is a receiver's view of the events it got: how often each arrived
// and whether one was ever in flight twice at once.
type tally struct {
	mu       sync.Mutex
	count    map[string]int
	inflight map[string]bool
	overlaps []string
}

func newTally() *tally { return &tally{count: map[string]int{}, inflight: map[string]bool{}} }

func (c *tally) begin(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight[id] {
		c.overlaps = append(c.overlaps, id)
	}
	c.inflight[id] = true
	c.count[id]++
}

func (c *tally) end(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.inflight, id)
}

func (c *tally) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.count)
}

// waitFor polls cond every few milliseconds for up to d.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// heldClaims is a durable store whose ClaimDue waits until release is
// closed (or its context ends); claiming is signalled when one begins.
type heldClaims struct {
	sharedStore
	claiming chan struct{}
	release  chan struct{}
}

func (h heldClaims) ClaimDue(ctx context.Context, c Claim) ([]Delivery, error) {
	select {
	case h.claiming <- struct{}{}:
	default:
	}
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return h.sharedStore.ClaimDue(ctx, c)
}

// TestDurableStartDoesNotWaitForTheFirstClaim: on a durable store the
// first claim of what a crash left runs beside the start, so a slow
// database does not hold up New; the claim still comes at once, and the
// pending delivery is then attempted.
func TestDurableStartDoesNotWaitForTheFirstClaim(t *testing.T) {
	rc := newReceiver(t, nil)
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	mem := NewMemoryStore(0, 0)
	ctx := context.Background()
	now := clock.Now().UTC()
	if _, err := mem.CreateWebhook(ctx, Webhook{ID: "wh_1", Tenant: "acme", URL: rc.URL, Events: []string{"case.created"}, Secret: "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}); err != nil {
		t.Fatal(err)
	}
	ev := Event{ID: "evt_left", Type: "case.created", Timestamp: now, Tenant: "acme", Data: []byte(`{}`)}
	body, _ := EncodeEvent(ev)
	if _, err := mem.CreateDeliveries(ctx, []Delivery{{ID: "dlv_left", WebhookID: "wh_1", Tenant: "acme", Event: ev, Body: body,
		Status: StatusPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}}); err != nil {
		t.Fatal(err)
	}
	st := heldClaims{sharedStore{mem}, make(chan struct{}, 1), make(chan struct{})}
	started := make(chan *Service, 1)
	go func() {
		s, err := New(Config{Clock: clock, IDs: core.NewIDs(nil), Fixtures: fixtures.MustDefault(), AllowLocalTargets: true, Jitter: -1,
			Store: st, Lease: MinLease, PollInterval: time.Hour, WallClock: clock.Now})
		if err != nil {
			t.Error(err)
		}
		started <- s
	}()
	var s *Service
	select {
	case s = <-started:
	case <-time.After(10 * time.Second):
		close(st.release)
		t.Fatal("New waited for the store's first claim")
	}
	if s == nil {
		return
	}
	t.Cleanup(func() { _ = s.Close() })
	select {
	case <-st.claiming:
	case <-time.After(10 * time.Second):
		t.Fatal("no claim began after the start (the poll interval is an hour)")
	}
	close(st.release)
	waitFor(t, 10*time.Second, "the delivery left pending", func() bool { return len(rc.requests()) == 1 })
	if got := rc.requests()[0].Event.ID; got != "evt_left" {
		t.Fatalf("delivered %s, want evt_left", got)
	}
}

// TestEngineResumesPendingDeliveriesAtStart: an engine started on a store
// that holds pending deliveries (left by a crash) attempts those that are
// due and free, and leaves those scheduled later or held by a live lease.
func TestEngineResumesPendingDeliveriesAtStart(t *testing.T) {
	rc := newReceiver(t, nil)
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	st := NewMemoryStore(0, 0)
	ctx := context.Background()
	now := clock.Now().UTC()
	if _, err := st.CreateWebhook(ctx, Webhook{ID: "wh_1", Tenant: "acme", URL: rc.URL, Events: []string{"case.created"}, Secret: "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}); err != nil {
		t.Fatal(err)
	}
	mk := func(id string, due time.Time, owner string, until time.Time) Delivery {
		ev := Event{ID: "evt_" + id, Type: "case.created", Timestamp: now, Tenant: "acme", Data: []byte(`{}`)}
		body, _ := EncodeEvent(ev)
		return Delivery{ID: id, WebhookID: "wh_1", Tenant: "acme", Event: ev, Body: body, Status: StatusPending,
			NextAttemptAt: due, CreatedAt: now, UpdatedAt: now, LeaseOwner: owner, LeaseUntil: until}
	}
	if _, err := st.CreateDeliveries(ctx, []Delivery{
		mk("dlv_free", now, "", time.Time{}),
		mk("dlv_crashed", now.Add(-time.Second), "dead-process", now.Add(-time.Second)),
		mk("dlv_later", now.Add(time.Hour), "", time.Time{}),
		mk("dlv_held", now, "live-process", now.Add(time.Hour)),
	}); err != nil {
		t.Fatal(err)
	}
	s := newEngine(t, st, clock, func(c *Config) { c.WallClock = clock.Now })
	waitIdle(t, s)
	got := map[string]bool{}
	for _, r := range rc.requests() {
		got[r.Event.ID] = true
	}
	if len(got) != 2 || !got["evt_dlv_free"] || !got["evt_dlv_crashed"] {
		t.Fatalf("resumed %v; want evt_dlv_free and evt_dlv_crashed only", got)
	}
	for id, want := range map[string]DeliveryStatus{"dlv_free": StatusSucceeded, "dlv_crashed": StatusSucceeded,
		"dlv_later": StatusPending, "dlv_held": StatusPending} {
		if d, _ := st.GetDelivery(ctx, "acme", "wh_1", id); d.Status != want {
			t.Errorf("%s is %s, want %s", id, d.Status, want)
		}
	}
	if d, _ := st.GetDelivery(ctx, "acme", "wh_1", "dlv_free"); d.LeaseOwner != "" {
		t.Errorf("a settled delivery keeps the lease of %q", d.LeaseOwner)
	}
}

// TestPublishStoresDeliveriesBeforeReturning: Publish answers only once the
// event's deliveries are stored; when the store refuses them the event is
// not published (an error, no slot kept), and TriggerN stores a burst in
// one write.
func TestPublishStoresDeliveriesBeforeReturning(t *testing.T) {
	rc := newReceiver(t, nil)
	ps := &processStore{Store: NewMemoryStore(0, 0)}
	s, _ := newTestService(t, func(c *Config) { c.Store = ps; c.QueueSize = 1 })
	w := subscribe(t, s, "acme", rc.URL, "case.created")
	subscribe(t, s, "acme", rc.URL, "case.created")
	ctx := context.Background()

	ps.fail.Store(true)
	if _, err := s.Publish(ctx, "acme", "case.created", nil); err == nil {
		t.Fatal("Publish succeeded while the store refused the deliveries")
	}
	ps.fail.Store(false)
	if ds, _ := ps.ListDeliveries(ctx, "acme", w.ID, DeliveryFilter{}); len(ds) != 0 {
		t.Fatalf("%d deliveries stored by a refused publish", len(ds))
	}
	// The refused publish freed its admission slot: with a queue of one,
	// the next publishes go through.
	for range 3 {
		pubCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		id, err := s.Publish(pubCtx, "acme", "case.created", nil)
		cancel()
		if err != nil {
			t.Fatalf("publish after the store healed: %v", err)
		}
		ds, _ := ps.ListDeliveries(ctx, "acme", w.ID, DeliveryFilter{EventID: id})
		if len(ds) != 1 {
			t.Fatalf("Publish returned before its delivery was stored (%d found)", len(ds))
		}
	}
	waitIdle(t, s)
	if n := len(rc.requests()); n != 6 {
		t.Errorf("%d requests, want 6 (3 events, 2 subscriptions)", n)
	}

	ps2 := &processStore{Store: NewMemoryStore(0, 0)}
	big, _ := newTestService(t, func(c *Config) { c.Store = ps2 })
	w2 := subscribe(t, big, "acme", rc.URL, "case.created")
	ids, err := big.TriggerN(ctx, "acme", "case.created", nil, 200)
	if err != nil || len(ids) != 200 {
		t.Fatalf("TriggerN = %d ids, %v", len(ids), err)
	}
	if n := ps2.creates.Load(); n != 1 {
		t.Errorf("TriggerN of 200 events wrote its deliveries in %d writes, want 1", n)
	}
	if n := ps2.lists.Load(); n != 1 {
		t.Errorf("TriggerN of 200 events listed the subscriptions %d times, want once (for its one write)", n)
	}
	waitIdle(t, big)
	if ds, _ := ps2.ListDeliveries(ctx, "acme", w2.ID, DeliveryFilter{Status: StatusSucceeded}); len(ds) != 200 {
		t.Errorf("%d of 200 deliveries succeeded", len(ds))
	}
}

// TestEnginesShareADurableStore: two engines on one durable store (two
// replicas on one database). One dies mid-burst, its connection cut as a
// SIGKILL would: the other claims what it held once the leases lapse, so
// every event arrives, and no delivery is ever in flight twice at once.
func TestEnginesShareADurableStore(t *testing.T) {
	const events = 400
	tl := newTally()
	var arrived atomic.Int32
	rc := newReceiver(t, func(_ int, r *http.Request) (int, http.Header, string) {
		id := r.Header.Get(HeaderID)
		tl.begin(id)
		defer tl.end(id)
		arrived.Add(1)
		time.Sleep(2 * time.Millisecond)
		return http.StatusOK, nil, "ok"
	})
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	shared := sharedStore{NewMemoryStore(0, 0)}
	connA, connB := &processStore{Store: shared}, &processStore{Store: shared}
	slow := func(c *Config) { c.Workers, c.PerEndpointConcurrency = 4, 4 }
	a := newEngine(t, connA, clock, slow)
	b := newEngine(t, connB, clock, slow)
	subscribe(t, a, "acme", rc.URL, "case.created")

	ctx := context.Background()
	var published []string
	ids, err := a.TriggerN(ctx, "acme", "case.created", nil, events/2)
	if err != nil {
		t.Fatal(err)
	}
	published = append(published, ids...)
	ids, err = b.TriggerN(ctx, "acme", "case.created", nil, events/2)
	if err != nil {
		t.Fatal(err)
	}
	published = append(published, ids...)
	waitFor(t, 10*time.Second, "the first deliveries", func() bool { return arrived.Load() >= 20 })
	connA.cut.Store(true) // engine A is gone: it records, renews and releases nothing any more
	held := 0
	pending, _ := shared.ListDeliveries(ctx, "acme", shared.firstWebhook(t), DeliveryFilter{Status: StatusPending})
	for _, d := range pending {
		if d.LeaseOwner == a.owner {
			held++
		}
	}
	if held == 0 {
		t.Fatal("engine A held no delivery when it died: the test proves nothing")
	}
	waitFor(t, 30*time.Second, "every event", func() bool { return tl.distinct() == events })
	tl.mu.Lock()
	defer tl.mu.Unlock()
	dups := 0
	for _, id := range published {
		switch n := tl.count[id]; {
		case n == 0:
			t.Errorf("event %s never arrived", id)
		case n > 1:
			dups += n - 1
		}
	}
	t.Logf("%d events, %d requests, %d duplicates (attempts in flight on engine A when it died); A held %d when it died",
		events, arrived.Load(), dups, held)
	if len(tl.overlaps) > 0 {
		t.Errorf("%d deliveries were in flight twice at once: %v", len(tl.overlaps), tl.overlaps[:min(5, len(tl.overlaps))])
	}
	if dups > 4 {
		t.Errorf("%d duplicates; at most the 4 attempts A had in flight may repeat", dups)
	}
}

// TestRetryFiresOnceAcrossEngines: a retry falls due while two engines
// share the store and the clock; the timer of the engine that scheduled it
// and the other engine's poll both find it due, and one attempt is made.
func TestRetryFiresOnceAcrossEngines(t *testing.T) {
	var hits atomic.Int32
	rc := newReceiver(t, func(n int, _ *http.Request) (int, http.Header, string) {
		hits.Add(1)
		if n == 1 {
			return http.StatusServiceUnavailable, nil, "down"
		}
		return http.StatusOK, nil, "ok"
	})
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	shared := sharedStore{NewMemoryStore(0, 0)}
	a := newEngine(t, shared, clock, nil)
	b := newEngine(t, shared, clock, nil)
	w := subscribe(t, a, "acme", rc.URL, "case.created")
	if _, err := a.Publish(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the first attempt", func() bool { return hits.Load() == 1 })
	waitIdle(t, a)
	clock.Advance(time.Minute)
	waitFor(t, 5*time.Second, "the retry", func() bool { return hits.Load() >= 2 })
	time.Sleep(100 * time.Millisecond) // ten poll intervals of engine B
	waitIdle(t, a)
	waitIdle(t, b)
	if n := hits.Load(); n != 2 {
		t.Errorf("%d requests, want 2: the retry was made more than once", n)
	}
	d := onlyDelivery(t, a, w)
	if d.Status != StatusSucceeded || d.AttemptCount != 2 || d.LeaseOwner != "" {
		t.Errorf("delivery %s after %d attempts, lease %q; want succeeded after 2, released", d.Status, d.AttemptCount, d.LeaseOwner)
	}
}

// TestCloseHandsLeasesBack: closing an engine on a durable store while
// deliveries are queued leaves them pending and unleased, and the next
// engine on the store (a restart) delivers them without waiting for a
// lease to lapse.
func TestCloseHandsLeasesBack(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	tl := newTally()
	rc := newReceiver(t, func(_ int, r *http.Request) (int, http.Header, string) {
		id := r.Header.Get(HeaderID)
		tl.begin(id)
		defer tl.end(id)
		<-release
		return http.StatusOK, nil, "ok"
	})
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	shared := sharedStore{NewMemoryStore(0, 0)}
	long := func(c *Config) { c.Lease, c.Workers, c.PerEndpointConcurrency = time.Hour, 1, 1 }
	a := newEngine(t, shared, clock, long)
	w := subscribe(t, a, "acme", rc.URL, "case.created")
	ids, err := a.TriggerN(context.Background(), "acme", "case.created", nil, 20)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the first attempt", func() bool { return tl.distinct() == 1 })
	closed := make(chan struct{})
	go func() { _ = a.Close(); close(closed) }()
	once.Do(func() { close(release) })
	<-closed
	pending, _ := shared.ListDeliveries(context.Background(), "acme", w.ID, DeliveryFilter{Status: StatusPending})
	if len(pending) < 19 {
		t.Fatalf("%d deliveries pending after Close, want at least 19", len(pending))
	}
	for _, d := range pending {
		if d.LeaseOwner != "" {
			t.Fatalf("%s still leased by %q after Close", d.ID, d.LeaseOwner)
		}
	}
	start := time.Now()
	b := newEngine(t, shared, clock, long)
	waitFor(t, 10*time.Second, "the restarted engine's deliveries", func() bool { return tl.distinct() == len(ids) })
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the restart took %s to deliver what Close handed back", took)
	}
	waitIdle(t, b)
}

// TestRecordYieldsToANewerLease: an attempt whose lease passed to another
// engine meanwhile is not recorded over that engine's claim.
func TestRecordYieldsToANewerLease(t *testing.T) {
	hold := make(chan struct{})
	entered := make(chan struct{}, 1)
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		entered <- struct{}{}
		<-hold
		return http.StatusOK, nil, "ok"
	})
	s, clock := newTestService(t, nil)
	w := subscribe(t, s, "acme", rc.URL, "case.created")
	if _, err := s.Publish(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	<-entered
	d := onlyDelivery(t, s, w)
	if d.LeaseOwner != s.owner {
		t.Fatalf("the delivery in flight is leased by %q, want the engine %q", d.LeaseOwner, s.owner)
	}
	until := clock.Now().Add(time.Hour)
	if _, err := s.store.UpdateDelivery(context.Background(), "acme", w.ID, d.ID, func(d *Delivery) error {
		d.LeaseOwner, d.LeaseUntil = "other-engine", until
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	close(hold)
	waitIdle(t, s)
	got := onlyDelivery(t, s, w)
	if got.Status != StatusPending || got.AttemptCount != 0 || got.LeaseOwner != "other-engine" {
		t.Errorf("delivery %s with %d attempts, leased by %q; want the other engine's claim untouched",
			got.Status, got.AttemptCount, got.LeaseOwner)
	}
}

func TestLeaseConfig(t *testing.T) {
	_, err := New(Config{Clock: core.NewVirtualClock(nil), IDs: core.NewIDs(nil), Fixtures: fixtures.MustDefault(),
		Lease: MinLease / 2, PollInterval: -time.Second})
	if err == nil {
		t.Fatal("New accepted a lease below MinLease and a negative poll interval")
	}
	for _, want := range []string{"Config.Lease", "Config.PollInterval"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// TestHeartbeatKeepsALongAttempt: an attempt that outlasts the lease stays
// with its engine while the engine lives (its heartbeat renews the lease),
// so another engine on the store never sends it a second time meanwhile.
func TestHeartbeatKeepsALongAttempt(t *testing.T) {
	var hits atomic.Int32
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		hits.Add(1)
		time.Sleep(4 * MinLease)
		return http.StatusOK, nil, "ok"
	})
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	shared := sharedStore{NewMemoryStore(0, 0)}
	a := newEngine(t, shared, clock, nil)
	b := newEngine(t, shared, clock, nil)
	w := subscribe(t, a, "acme", rc.URL, "case.created")
	if _, err := a.Publish(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the attempt", func() bool { return hits.Load() == 1 })
	waitIdle(t, a)
	waitIdle(t, b)
	if n := hits.Load(); n != 1 {
		t.Errorf("%d requests, want 1: the other engine claimed an attempt still in flight", n)
	}
	if d := onlyDelivery(t, a, w); d.Status != StatusSucceeded {
		t.Errorf("delivery %s, want succeeded", d.Status)
	}
}

// TestQueuedJobYieldsToANewerLease: a delivery queued here whose lease
// another engine took meanwhile (this one's heartbeat could not reach the
// store) is left to that engine, not sent a second time.
func TestQueuedJobYieldsToANewerLease(t *testing.T) {
	hold := make(chan struct{})
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		<-hold
		return http.StatusOK, nil, "ok"
	})
	s, clock := newTestService(t, func(c *Config) { c.Workers, c.PerEndpointConcurrency = 1, 1 })
	w := subscribe(t, s, "acme", rc.URL, "case.created")
	ids, err := s.TriggerN(context.Background(), "acme", "case.created", nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	<-rc.arrived // the first is in flight, the second queued behind it
	queued, _ := s.store.ListDeliveries(context.Background(), "acme", w.ID, DeliveryFilter{EventID: ids[1]})
	if len(queued) != 1 {
		t.Fatalf("%d deliveries of the second event", len(queued))
	}
	if _, err := s.store.UpdateDelivery(context.Background(), "acme", w.ID, queued[0].ID, func(d *Delivery) error {
		d.LeaseOwner, d.LeaseUntil = "other-engine", clock.Now().Add(2*time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour) // this engine's lease lapsed (the tests' wall clock is the sandbox's)
	close(hold)
	waitIdle(t, s)
	for _, r := range rc.requests() {
		if r.Event.ID == ids[1] {
			t.Fatal("the engine sent a delivery whose lease another engine held")
		}
	}
}

// TestQueuedJobRenewsItsLeaseBeforeTheAttempt: a delivery whose lease
// lapsed while its job waited (still this engine's: nobody claimed it) is
// leased again in the store before it is sent, so no other engine can
// claim it while the attempt runs.
func TestQueuedJobRenewsItsLeaseBeforeTheAttempt(t *testing.T) {
	hold, second := make(chan struct{}), make(chan struct{})
	rc := newReceiver(t, func(n int, _ *http.Request) (int, http.Header, string) {
		if n == 1 {
			<-hold
		} else {
			<-second
		}
		return http.StatusOK, nil, "ok"
	})
	s, clock := newTestService(t, func(c *Config) { c.Workers, c.PerEndpointConcurrency = 1, 1 })
	w := subscribe(t, s, "acme", rc.URL, "case.created")
	ids, err := s.TriggerN(context.Background(), "acme", "case.created", nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	<-rc.arrived             // the first is in flight, the second queued behind it
	clock.Advance(time.Hour) // the second's lease lapsed (the tests' wall clock is the sandbox's)
	close(hold)
	<-rc.arrived // the second is in flight
	queued, _ := s.store.ListDeliveries(context.Background(), "acme", w.ID, DeliveryFilter{EventID: ids[1]})
	if len(queued) != 1 {
		t.Fatalf("%d deliveries of the second event", len(queued))
	}
	if d := queued[0]; d.LeaseOwner != s.owner || !d.LeaseUntil.After(clock.Now()) {
		t.Errorf("the attempt in flight runs on a lease of %q until %v (now %v); want this engine's, renewed", d.LeaseOwner, d.LeaseUntil, clock.Now())
	}
	close(second)
	waitIdle(t, s)
}

// conflictStore refuses every new delivery as a duplicate ID.
type conflictStore struct{ Store }

func (conflictStore) CreateDelivery(context.Context, Delivery) (Delivery, error) {
	return Delivery{}, ErrConflict
}

func (conflictStore) CreateDeliveries(context.Context, []Delivery) ([]Delivery, error) {
	return nil, ErrConflict
}

// TestPublishFailsOnAnIDConflict: a delivery ID the store already holds
// (a seeded ID source replaying a run whose deliveries a durable store
// kept) fails the publish instead of accepting an event that goes nowhere.
func TestPublishFailsOnAnIDConflict(t *testing.T) {
	rc := newReceiver(t, nil)
	st := conflictStore{NewMemoryStore(0, 0)}
	s, _ := newTestService(t, func(c *Config) { c.Store, c.QueueSize = st, 1 })
	subscribe(t, s, "acme", rc.URL, "case.created")
	subscribe(t, s, "acme", rc.URL, "case.created")
	for _, n := range []int{1, 3} {
		if _, err := s.TriggerN(context.Background(), "acme", "case.created", nil, n); !errors.Is(err, ErrConflict) {
			t.Fatalf("trigger of %d with a conflicting delivery ID = %v, want ErrConflict", n, err)
		}
	}
	if _, err := s.Publish(context.Background(), "acme", "case.created", nil); !errors.Is(err, ErrConflict) {
		t.Fatalf("publish with a conflicting delivery ID = %v, want ErrConflict", err)
	}
}

// TestEnginesFillOneReorderBurst: events published alternately on two
// engines sharing a durable store fill one reorder burst, released by the
// engine whose hold completes it in the reverse of the holds' order, each
// event once, without waiting for the burst's wait on the clock; while a
// burst is incomplete the other engine's idle wait does not count its
// held deliveries. A burst short of its size goes out when its wait ends,
// from whichever engine's timer fires first, and the next burst starts
// whole.
func TestEnginesFillOneReorderBurst(t *testing.T) {
	rc := newReceiver(t, nil)
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	shared := sharedStore{NewMemoryStore(0, 0)}
	faults := DeliveryFaultsFunc(func(context.Context, AttemptInfo) AttemptPlan {
		return AttemptPlan{Rule: "burst", Reorder: &Reorder{Count: 4, MaxWait: time.Hour}}
	})
	one := func(c *Config) { c.Faults, c.PerEndpointConcurrency = faults, 1 }
	engines := []*Service{newEngine(t, shared, clock, one), newEngine(t, shared, clock, one)}
	subscribe(t, engines[0], "acme", rc.URL, "case.created")
	ctx := context.Background()
	publish := func(n int) []string {
		var ids []string
		for i := range n {
			id, err := engines[i%2].Trigger(ctx, "acme", "case.created", nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
			for _, e := range engines {
				waitIdle(t, e) // returns while the burst is incomplete
			}
		}
		return ids
	}
	arrived := func() []string {
		var got []string
		for _, r := range rc.requests() {
			got = append(got, r.Event.ID)
		}
		return got
	}

	first := publish(4)
	want := slices.Clone(first)
	slices.Reverse(want)
	if got := arrived(); !slices.Equal(got, want) {
		t.Fatalf("a burst of 4 held on two engines arrived as %v, want %v (the reverse of publication)", got, want)
	}

	short := publish(3)
	if n := len(arrived()); n != 4 {
		t.Fatalf("%d requests before the short burst's wait ended, want the first burst's 4", n)
	}
	clock.Advance(time.Hour)
	for _, e := range engines {
		waitIdle(t, e)
	}
	want = slices.Clone(short)
	slices.Reverse(want)
	if got := arrived()[4:]; !slices.Equal(got, want) {
		t.Fatalf("the short burst arrived as %v once its wait ended, want %v", got, want)
	}

	next := publish(4)
	want = slices.Clone(next)
	slices.Reverse(want)
	if got := arrived()[7:]; !slices.Equal(got, want) {
		t.Fatalf("the burst after a short one arrived as %v, want %v: whole and reversed", got, want)
	}
	pending, err := shared.ListDeliveries(ctx, "acme", shared.firstWebhook(t), DeliveryFilter{Status: StatusPending})
	if err != nil || len(pending) != 0 {
		t.Errorf("%d deliveries left pending (%v), want none", len(pending), err)
	}
}

// TestReorderHoldSurvivesItsEngine: an engine closes while it holds an
// attempt in a burst; once the burst's wait and the lease are over
// another engine claims the delivery, and its hold of it completes the
// burst: the event arrives once, though its old hold mark is still
// stored.
func TestReorderHoldSurvivesItsEngine(t *testing.T) {
	rc := newReceiver(t, nil)
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	shared := sharedStore{NewMemoryStore(0, 0)}
	faults := DeliveryFaultsFunc(func(context.Context, AttemptInfo) AttemptPlan {
		return AttemptPlan{Rule: "pair", Reorder: &Reorder{Count: 2, MaxWait: time.Hour}}
	})
	withFaults := func(c *Config) { c.Faults = faults }
	a := newEngine(t, shared, clock, withFaults)
	subscribe(t, a, "acme", rc.URL, "case.created")
	id, err := a.Trigger(context.Background(), "acme", "case.created", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, a)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := newEngine(t, shared, clock, withFaults)
	clock.Advance(time.Hour)
	waitFor(t, 10*time.Second, "the held event", func() bool { return len(rc.requests()) > 0 })
	waitIdle(t, b)
	var got []string
	for _, r := range rc.requests() {
		got = append(got, r.Event.ID)
	}
	if !slices.Equal(got, []string{id}) {
		t.Errorf("received %v, want the held event %s once", got, id)
	}
}

// TestReorderBurstsKeepTheirOwnWaits: an engine whose hold of a burst was
// taken by another engine keeps no wait of that burst for its next one:
// the next burst's held attempt waits its own MaxWait, not what was left
// of the first's.
func TestReorderBurstsKeepTheirOwnWaits(t *testing.T) {
	rc := newReceiver(t, nil)
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	clock.Freeze()
	shared := sharedStore{NewMemoryStore(0, 0)}
	faults := DeliveryFaultsFunc(func(context.Context, AttemptInfo) AttemptPlan {
		return AttemptPlan{Rule: "pair", Reorder: &Reorder{Count: 2, MaxWait: time.Hour}}
	})
	withFaults := func(c *Config) { c.Faults = faults }
	engines := []*Service{newEngine(t, shared, clock, withFaults), newEngine(t, shared, clock, withFaults)}
	subscribe(t, engines[0], "acme", rc.URL, "case.created")
	publish := func(e *Service) string {
		id, err := e.Trigger(context.Background(), "acme", "case.created", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range engines {
			waitIdle(t, e)
		}
		return id
	}
	first, second := publish(engines[0]), publish(engines[1])
	if n := len(rc.requests()); n != 2 {
		t.Fatalf("%d requests after the first burst filled, want 2", n)
	}
	clock.Advance(50 * time.Minute)
	third := publish(engines[0])
	clock.Advance(15 * time.Minute) // the first burst's wait ends here
	for _, e := range engines {
		waitIdle(t, e)
	}
	if n := len(rc.requests()); n != 2 {
		t.Fatalf("%d requests 15 minutes into the second burst's wait of an hour, want 2", n)
	}
	clock.Advance(45 * time.Minute)
	for _, e := range engines {
		waitIdle(t, e)
	}
	var got []string
	for _, r := range rc.requests() {
		got = append(got, r.Event.ID)
	}
	if want := []string{second, first, third}; !slices.Equal(got, want) {
		t.Errorf("received %v, want %v: the first burst reversed, then the short one at its own wait's end", got, want)
	}
}
