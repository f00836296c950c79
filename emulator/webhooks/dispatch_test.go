package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBurstNoneLostOrDuplicated publishes 10,000 events from concurrent
// publishers through a small queue to several endpoints, one of which fails
// every third request: every event reaches each of its subscribers, and the
// only repeats are retries of failed attempts.
func TestBurstNoneLostOrDuplicated(t *testing.T) {
	s, clock := newTestService(t, func(c *Config) { c.QueueSize = 256 })
	// The flaky endpoint refuses the first attempt of every third event.
	var seenMu sync.Mutex
	seen := map[string]bool{}
	flaky := newReceiver(t, func(_ int, r *http.Request) (int, http.Header, string) {
		seenMu.Lock()
		defer seenMu.Unlock()
		id := r.Header.Get(HeaderID)
		if !seen[id] {
			seen[id] = true
			if len(seen)%3 == 0 {
				return http.StatusServiceUnavailable, nil, "busy"
			}
		}
		return http.StatusOK, nil, "ok"
	})
	a, b := newReceiver(t, nil), newReceiver(t, nil)
	wa := subscribe(t, s, "acme", a.URL, "case.created")
	wb := subscribe(t, s, "acme", b.URL, "case.updated")
	wf := subscribe(t, s, "acme", flaky.URL, "case.updated")

	const events = 10000
	var mu sync.Mutex
	topicOf := map[string]string{}
	var wg sync.WaitGroup
	for p := range 4 {
		wg.Go(func() {
			for i := p; i < events; i += 4 {
				topic := []string{"case.created", "case.updated"}[i%2]
				id, err := s.Publish(context.Background(), "acme", topic, map[string]any{"n": i})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				topicOf[id] = topic
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	waitIdle(t, s)
	for _, wait := range DefaultSchedule {
		if len(pending(t, s, wf)) == 0 {
			break
		}
		clock.Advance(wait)
		waitIdle(t, s)
	}
	if p := pending(t, s, wf); len(p) > 0 {
		t.Fatalf("%d deliveries still pending after the whole schedule", len(p))
	}

	count := func(rc *receiver) map[string]int {
		m := map[string]int{}
		for _, r := range rc.requests() {
			m[r.Header.Get(HeaderID)]++
		}
		return m
	}
	ca, cb, cf := count(a), count(b), count(flaky)
	for id, topic := range topicOf {
		switch topic {
		case "case.created":
			if ca[id] != 1 || cb[id]+cf[id] != 0 {
				t.Fatalf("case.created %s: a=%d b=%d flaky=%d, want 1/0/0", id, ca[id], cb[id], cf[id])
			}
		default:
			if cb[id] != 1 || cf[id] < 1 || ca[id] != 0 {
				t.Fatalf("case.updated %s: a=%d b=%d flaky=%d, want 0/1/>=1", id, ca[id], cb[id], cf[id])
			}
		}
	}
	if len(topicOf) != events || len(ca)+len(cb) != events {
		t.Fatalf("accepted %d events, delivered %d distinct; want %d", len(topicOf), len(ca)+len(cb), events)
	}
	// Every repeat at the flaky endpoint is the retry of a refused first
	// attempt: one per third event.
	repeats := 0
	for _, n := range cf {
		repeats += n - 1
	}
	if want := (events / 2) / 3; repeats != want {
		t.Errorf("flaky endpoint saw %d repeats, want %d (one retry per refused attempt)", repeats, want)
	}
	for _, w := range []Webhook{wa, wb, wf} {
		for _, d := range mustDeliveries(t, s, w) {
			if d.Status != StatusSucceeded {
				t.Fatalf("delivery %s of %s is %s", d.ID, w.URL, d.Status)
			}
			if w.ID != wf.ID && d.AttemptCount != 1 {
				t.Fatalf("healthy delivery %s took %d attempts", d.ID, d.AttemptCount)
			}
		}
	}
}

func pending(t *testing.T, s *Service, w Webhook) []Delivery {
	t.Helper()
	ds, err := s.Deliveries(context.Background(), w.Tenant, w.ID, DeliveryFilter{Status: StatusPending})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func mustDeliveries(t *testing.T, s *Service, w Webhook) []Delivery {
	t.Helper()
	ds, err := s.Deliveries(context.Background(), w.Tenant, w.ID, DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// blockedEngine returns an engine with one worker, one attempt per
// endpoint and a one-slot queue, whose endpoint (subscribed to
// case.created) holds the delivery in flight until release is closed: the
// next event fills the queue.
func blockedEngine(t *testing.T) (s *Service, rc *receiver, release chan struct{}) {
	t.Helper()
	s, _ = newTestService(t, func(c *Config) { c.QueueSize = 1; c.Workers = 1; c.PerEndpointConcurrency = 1 })
	release = make(chan struct{})
	rc = newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		<-release
		return http.StatusOK, nil, "ok"
	})
	subscribe(t, s, "acme", rc.URL, "case.created")
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	<-rc.arrived
	return s, rc, release
}

func TestBackPressureBlocksPublish(t *testing.T) {
	s, rc, release := blockedEngine(t)
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil { // queued: the one slot
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Trigger(ctx, "acme", "case.created", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("publish into a full queue = %v, want it to wait (and give up with the context)", err)
	}
	close(release)
	waitIdle(t, s)
	if n := len(rc.requests()); n != 2 {
		t.Errorf("receiver got %d, want the 2 accepted events", n)
	}
}

// TestSlowEndpointDoesNotStallOthers: an endpoint that never answers holds
// at most PerEndpointConcurrency workers; the others keep delivering.
func TestSlowEndpointDoesNotStallOthers(t *testing.T) {
	s, _ := newTestService(t, func(c *Config) { c.Workers = 4; c.PerEndpointConcurrency = 2; c.AttemptTimeout = MaxAttemptTimeout })
	release := make(chan struct{})
	slow := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		<-release
		return http.StatusOK, nil, "ok"
	})
	fast := newReceiver(t, nil)
	subscribe(t, s, "acme", slow.URL, "case.created")
	subscribe(t, s, "acme", fast.URL, "case.created")
	const n = 50
	for range n {
		if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.After(10 * time.Second)
	for got := 0; got < n; got++ {
		select {
		case <-fast.arrived:
		case <-deadline:
			t.Fatalf("fast endpoint got %d of %d while the slow one hangs", got, n)
		}
	}
	if inflight := len(slow.requests()); inflight > 2 {
		t.Errorf("slow endpoint has %d requests in flight, want at most 2", inflight)
	}
	close(release)
	waitIdle(t, s)
	if got := len(slow.requests()); got != n {
		t.Errorf("slow endpoint got %d, want %d once released", got, n)
	}
}

func TestCloseStopsTheEngine(t *testing.T) {
	s, _ := newTestService(t, nil)
	rc := newReceiver(t, nil)
	subscribe(t, s, "acme", rc.URL, "case.created")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("publish after Close = %v, want ErrClosed", err)
	}
}

func TestPublishErrors(t *testing.T) {
	s, _ := newTestService(t, nil)
	tests := []struct {
		name    string
		tenant  string
		topic   string
		wantErr error
	}{
		{name: "catalog topic", tenant: "acme", topic: "case.created"},
		{name: "unknown topic", tenant: "acme", topic: "case.deleted", wantErr: ErrUnknownTopic},
		{name: "unknown tenant", tenant: "initech", topic: "case.created", wantErr: ErrUnknownTenant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Trigger(context.Background(), tt.tenant, tt.topic, nil)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Trigger = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestTriggerMergesOverrides(t *testing.T) {
	s, _ := newTestService(t, nil)
	rc := newReceiver(t, nil)
	w := subscribe(t, s, "acme", rc.URL, "case.updated")
	_, err := s.Trigger(context.Background(), "acme", "case.updated", map[string]any{
		"case": map[string]any{"status": "CLOSED", "tags": []any{"x"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	d := onlyDelivery(t, s, w)
	got := string(d.Event.Data)
	for _, want := range []string{`"status":"CLOSED"`, `"tags":["x"]`, `"number":"ACME-1001"`, `"changes":{`, `"actor":{`} {
		if !contains(got, want) {
			t.Errorf("data %s lacks %s", got, want)
		}
	}
	// The fixture example itself is untouched.
	ex, _ := s.catalog.example("case.updated")
	if fmt.Sprint(ex["case"].(map[string]any)["status"]) != "IN_PROGRESS" {
		t.Error("Trigger modified the catalog example")
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

// gatedRecords is a store whose UpdateDelivery calls wait until open is
// closed: the outcomes of attempts stay unrecorded meanwhile.
type gatedRecords struct {
	Store
	open    chan struct{}
	waiting atomic.Int32
}

func (g *gatedRecords) UpdateDelivery(ctx context.Context, tenant, webhookID, id string, fn func(*Delivery) error) (Delivery, error) {
	g.waiting.Add(1)
	<-g.open
	return g.Store.UpdateDelivery(ctx, tenant, webhookID, id, fn)
}

// TestEndpointTurnEndsWithTheAttempt: an attempt gives its endpoint's turn
// back once made, so the endpoint's next attempts start while its outcome
// is still being recorded (a durable store then writes many outcomes in
// one transaction), at most PerEndpointConcurrency at once; the job is
// still unsettled, and idle waits for its record.
func TestEndpointTurnEndsWithTheAttempt(t *testing.T) {
	g := &gatedRecords{Store: NewMemoryStore(0, 0), open: make(chan struct{})}
	s, _ := newTestService(t, func(c *Config) { c.Store, c.Workers, c.PerEndpointConcurrency = g, 8, 2 })
	var opened sync.Once
	openGate := func() { opened.Do(func() { close(g.open) }) }
	t.Cleanup(openGate) // before the engine's Close, which waits for the records
	inflight, most := atomic.Int32{}, atomic.Int32{}
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		n := inflight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(5 * time.Millisecond)
		inflight.Add(-1)
		return http.StatusOK, nil, ""
	})
	w := subscribe(t, s, "acme", rc.URL, "case.created")
	const n = 6
	for range n {
		if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(rc.requests()) < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := len(rc.requests()); got != n {
		t.Fatalf("the endpoint got %d of %d attempts while the first outcomes were unrecorded", got, n)
	}
	if m := most.Load(); m > 2 {
		t.Errorf("%d attempts at once, want at most PerEndpointConcurrency (2)", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := s.WaitIdle(ctx); err == nil {
		t.Error("WaitIdle returned while outcomes were unrecorded")
	}
	if p, _ := s.disp.unsettled(); p != n {
		t.Errorf("unsettled = %d, want the %d jobs being recorded", p, n)
	}
	openGate()
	waitIdle(t, s)
	ds, err := s.store.ListDeliveries(context.Background(), "acme", w.ID, DeliveryFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Status != StatusSucceeded {
			t.Errorf("delivery %s is %s after its record, want succeeded", d.ID, d.Status)
		}
	}
	if len(ds) != n || g.waiting.Load() < n {
		t.Errorf("%d deliveries, %d records, want %d of each", len(ds), g.waiting.Load(), n)
	}
}

// TestFullQueueStoresDeliveriesInBatches: a publisher that finds the
// delivery queue full waits for room for many deliveries, so those it
// stores next share a write, instead of one write each as single slots
// free up; every event is still delivered.
func TestFullQueueStoresDeliveriesInBatches(t *testing.T) {
	ps := &processStore{Store: NewMemoryStore(0, 0)}
	const queue, events = 64, 640
	s, _ := newTestService(t, func(c *Config) { c.Store, c.QueueSize, c.Workers, c.PerEndpointConcurrency = ps, queue, 1, 1 })
	rc := newReceiver(t, nil)
	subscribe(t, s, "acme", rc.URL, "case.created")
	before := ps.creates.Load()
	if _, err := s.TriggerN(context.Background(), "acme", "case.created", nil, events); err != nil {
		t.Fatal(err)
	}
	writes := ps.creates.Load() - before
	waitIdle(t, s)
	if got := len(rc.requests()); got != events {
		t.Errorf("the receiver got %d of %d events", got, events)
	}
	// Room is a quarter of the queue (16): about 40 writes; one a
	// delivery past the first 64 would be about 580.
	if most := int32(events / 8); writes > most {
		t.Errorf("%d deliveries stored in %d writes, want at most %d", events, writes, most)
	}
}

// TestResetKeepsARecordingEndpointServed: a reset empties the ring but
// keeps the queue of an endpoint whose attempt is being recorded; that
// queue's next job is still taken by a worker.
func TestResetKeepsARecordingEndpointServed(t *testing.T) {
	d := newDispatcher(8, 2, time.Second)
	t.Cleanup(d.close)
	d.enqueue(job{tenant: "acme", webhookID: "wh_1", deliveryID: "dlv_1"})
	q, _, ok := d.next()
	if !ok {
		t.Fatal("no job")
	}
	d.release(q)
	d.enqueue(job{tenant: "acme", webhookID: "wh_1", deliveryID: "dlv_2"}) // on the ring
	d.mu.Lock()
	d.clearLocked() // Reset: dlv_2 dropped, the queue kept for its record
	d.mu.Unlock()
	d.enqueue(job{tenant: "acme", webhookID: "wh_1", deliveryID: "dlv_3"})
	got := make(chan string, 1)
	go func() {
		if _, j, ok := d.next(); ok {
			got <- j.deliveryID
		}
	}()
	select {
	case id := <-got:
		if id != "dlv_3" {
			t.Errorf("took %s, want dlv_3", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the job queued after the reset was never taken")
	}
	d.finish(q, true)
}

// TestRoomWaitersComeBeforeNewcomers: while a publisher waits for room, a
// newcomer takes no slot that frees, so the room forms; the waiter then
// takes it whole.
func TestRoomWaitersComeBeforeNewcomers(t *testing.T) {
	d := newDispatcher(8, 2, time.Second) // room: 2
	t.Cleanup(d.close)
	for range 8 {
		if !d.tryAdmit() {
			t.Fatal("a free slot was refused")
		}
	}
	took := make(chan int, 1)
	go func() {
		n, err := d.waitRoom(context.Background())
		if err != nil {
			t.Error(err)
		}
		took <- n
	}()
	for d.roomWaiters.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	d.freeSlots(1)
	if d.tryAdmit() {
		t.Fatal("a newcomer took the slot a publisher waiting for room needs")
	}
	d.freeSlots(1)
	select {
	case n := <-took:
		if n != 2 {
			t.Errorf("the waiter took %d slots, want the room (2)", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter never got its room")
	}
	d.freeSlots(1)
	if !d.tryAdmit() {
		t.Error("with nobody waiting, a free slot was refused")
	}
}
