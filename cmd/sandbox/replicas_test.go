package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/internal/pgtest"
)

// inFlight tracks the requests a consumer is answering per Webhook-Id and
// counts the ones that arrived while another of the same id was still
// being answered: an attempt two replicas made at once.
type inFlight struct {
	mu       sync.Mutex
	now      map[string]int
	overlaps []string
}

func (f *inFlight) enter(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.now[id] > 0 {
		f.overlaps = append(f.overlaps, id)
	}
	f.now[id]++
}

func (f *inFlight) leave(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now[id]--
}

// TestReplicasShareDeliveries is issue 15's replica test: three sandboxes
// on one PostgreSQL database, a burst triggered through all three, one of
// them SIGKILLed while it delivers. Every accepted event arrives, and no
// delivery is ever in flight twice at once (the consumer holds each
// request a little, so two replicas attempting one delivery together
// would overlap there).
func TestReplicasShareDeliveries(t *testing.T) {
	const (
		events = 6000
		batch  = 1000
		killAt = 1500 // requests received when a replica is killed
	)
	bin := sandboxBinary(t)
	env := []string{"ARGUS_SANDBOX_DATABASE_URL=" + pgtest.Database(t), "ARGUS_SANDBOX_DELIVERY_LEASE=" + crashLease}
	ledger := &eventLedger{seen: map[string]int{}}
	flight := &inFlight{now: map[string]int{}}
	consumer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		id := r.Header.Get("Webhook-Id")
		flight.enter(id)
		defer flight.leave(id)
		time.Sleep(2 * time.Millisecond)
		ledger.add(id)
	}))
	defer consumer.Close()

	replicas := []*proc{startProcess(t, bin, env), startProcess(t, bin, env), startProcess(t, bin, env)}
	hook := fmt.Sprintf(`{"tenant":"acme","url":%q,"events":["case.updated"],"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, consumer.URL)
	if status, err := postJSON(replicas[0].base, "/_sandbox/webhooks", hook, nil); err != nil || status != http.StatusCreated {
		t.Fatalf("create webhook: %d, %v", status, err)
	}
	var (
		mu       sync.Mutex
		accepted []string
		wg       sync.WaitGroup
	)
	for i := range events / batch {
		wg.Go(func() {
			var out struct {
				EventIDs []string `json:"event_ids"`
			}
			p := replicas[i%len(replicas)]
			status, err := postJSON(p.base, "/_sandbox/events", fmt.Sprintf(`{"tenant":"acme","topic":"case.updated","count":%d,"synthetic":true}`, batch), &out)
			if err != nil || status != http.StatusAccepted {
				t.Errorf("trigger on replica %d: %d, %v", i%len(replicas), status, err)
				return
			}
			mu.Lock()
			accepted = append(accepted, out.EventIDs...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for deadline := time.Now().Add(crashAccept); ledger.distinct() < killAt; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d events delivered before the deadline", ledger.distinct())
		}
	}
	replicas[1].kill(t)
	killedAt := ledger.distinct()
	if killedAt >= events {
		t.Fatal("every event had arrived before the kill: the test proves nothing")
	}
	t.Logf("replica 1 killed with %d of %d events delivered", killedAt, events)

	missing := func() []string { return missingOf(ledger, accepted) }
	deadline := time.Now().Add(crashRecovery)
	for m := missing(); len(m) > 0; m = missing() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events never arrived (first: %v)", len(m), len(accepted), m[:min(5, len(m))])
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second) // stragglers, for the counts

	ledger.mu.Lock()
	dups := ledger.all - len(ledger.seen)
	ledger.mu.Unlock()
	flight.mu.Lock()
	defer flight.mu.Unlock()
	t.Logf("accepted %d, received %d requests for %d distinct events: %d duplicates (attempts the killed replica had in flight), %d overlapping",
		len(accepted), ledger.all, len(ledger.seen), dups, len(flight.overlaps))
	if len(flight.overlaps) > 0 {
		t.Errorf("%d requests arrived while the same delivery was in flight from another replica (first: %v)",
			len(flight.overlaps), flight.overlaps[:min(5, len(flight.overlaps))])
	}
}
