package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/internal/pgtest"
)

// Crash test bounds: the burst, how much of it is accepted when the kill
// comes (all of it: the kill falls in the middle of its deliveries, which
// the consumer holds back after the first crashHoldAfter), and how long
// the restarted process may take to deliver the rest (a killed process's
// leases lapse after crashLease).
const (
	crashEvents   = 10000
	crashBatch    = 1000        // events per POST /_sandbox/events (its maximum)
	crashKillAt   = crashEvents // events accepted when the SIGKILL comes
	crashRecovery = 5 * time.Minute
	// crashAccept bounds the burst's acceptance.
	crashAccept = 5 * time.Minute
	// crashHoldAfter is how many requests the consumer answers before
	// the kill; later ones hang until the process dies, so the kill finds
	// attempts in flight and most of the burst queued.
	crashHoldAfter = 1500
	// crashLease is the processes' --delivery-lease: the restart makes
	// the attempts the killed process held once it lapses.
	crashLease = "2s"
)

// postJSON sends a JSON body to the sandbox at base and decodes a 2xx
// answer into out.
func postJSON(base, path, body string, out any) (int, error) {
	resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s: %w", raw, err)
		}
	}
	return resp.StatusCode, nil
}

// eventLedger is what the consumer received: requests per event id.
type eventLedger struct {
	mu   sync.Mutex
	seen map[string]int
	all  int
}

// add counts a request for id and returns how many requests came so far.
func (l *eventLedger) add(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seen[id]++
	l.all++
	return l.all
}

func (l *eventLedger) distinct() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

// missingOf returns the ids the ledger has not seen.
func missingOf(l *eventLedger, ids []string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, id := range ids {
		if l.seen[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// TestCrashKeepsAcceptedEventsSQLite is issue 15's crash test on a data
// directory: 10,000 events accepted for a consumer, the process SIGKILLed
// mid-burst, restarted on the same directory: every accepted event id
// arrives at least once, and the duplicates are counted and reported.
func TestCrashKeepsAcceptedEventsSQLite(t *testing.T) {
	runCrash(t, sandboxBinary(t), nil, "--data-dir", filepath.Join(t.TempDir(), "data"))
}

// TestCrashKeepsAcceptedEventsPostgres is the same crash test on
// PostgreSQL.
func TestCrashKeepsAcceptedEventsPostgres(t *testing.T) {
	runCrash(t, sandboxBinary(t), []string{"ARGUS_SANDBOX_DATABASE_URL=" + pgtest.Database(t)})
}

// runCrash runs the crash test against a sandbox started with env and
// args (the same each time: the durable store must be the same).
func runCrash(t *testing.T, bin string, env []string, args ...string) {
	env = append([]string{"ARGUS_SANDBOX_DELIVERY_LEASE=" + crashLease}, env...)
	ledger := &eventLedger{seen: map[string]int{}}
	var holding atomic.Bool
	holding.Store(true)
	consumer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if n := ledger.add(r.Header.Get("Webhook-Id")); n > crashHoldAfter && holding.Load() {
			<-r.Context().Done() // the connection drops with the killed process
		}
	}))
	defer consumer.Close()

	first := startProcess(t, bin, env, args...)
	hook := fmt.Sprintf(`{"tenant":"acme","url":%q,"events":["case.updated"],"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, consumer.URL)
	if status, err := postJSON(first.base, "/_sandbox/webhooks", hook, nil); err != nil || status != http.StatusCreated {
		t.Fatalf("create webhook: %d, %v", status, err)
	}

	// The burst (synthetic case events: stored cases would stop at the
	// tenant's limit of 10,000): accepted ids are those of answered
	// triggers; the trigger
	// cut short by the kill may have stored events whose ids never came
	// back (they may arrive too, and are counted apart).
	var (
		mu       sync.Mutex
		accepted []string
	)
	burst := make(chan error, 1)
	go func() {
		for range crashEvents / crashBatch {
			var out struct {
				EventIDs []string `json:"event_ids"`
			}
			status, err := postJSON(first.base, "/_sandbox/events", fmt.Sprintf(`{"tenant":"acme","topic":"case.updated","count":%d,"synthetic":true}`, crashBatch), &out)
			if err != nil || status != http.StatusAccepted {
				burst <- fmt.Errorf("trigger: %d, %v", status, err)
				return
			}
			mu.Lock()
			accepted = append(accepted, out.EventIDs...)
			mu.Unlock()
		}
		burst <- nil
	}()
	deadline := time.Now().Add(crashAccept)
	for {
		mu.Lock()
		n := len(accepted)
		mu.Unlock()
		if n >= crashKillAt {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d events accepted before the deadline", n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	first.kill(t)
	burstErr := <-burst
	killedAt := ledger.distinct()
	holding.Store(false)
	if len(accepted) == crashEvents {
		t.Logf("the whole burst was accepted before the kill (%d events delivered by then)", killedAt)
	} else {
		t.Logf("killed after %d events accepted, %d delivered (the burst ended with: %v)", len(accepted), killedAt, burstErr)
	}
	if pending := len(missingOf(ledger, accepted)); pending == 0 {
		t.Fatal("every accepted event had arrived before the kill: the restart has nothing to prove")
	} else {
		t.Logf("%d accepted events had not arrived when the process died", pending)
	}

	startProcess(t, bin, env, args...) // the restart, on the same store
	missing := func() []string { return missingOf(ledger, accepted) }
	deadline = time.Now().Add(crashRecovery)
	for m := missing(); len(m) > 0; m = missing() {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d accepted events never arrived after the restart (first: %v)",
				len(m), len(accepted), m[:min(5, len(m))])
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second) // let stragglers arrive before counting

	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	known := map[string]bool{}
	for _, id := range accepted {
		known[id] = true
	}
	dups, extra := 0, 0
	var dupIDs bytes.Buffer
	for id, n := range ledger.seen {
		if !known[id] {
			extra++
		}
		if n > 1 {
			dups += n - 1
			if dupIDs.Len() < 200 {
				fmt.Fprintf(&dupIDs, " %s×%d", id, n)
			}
		}
	}
	t.Logf("accepted %d, received %d requests for %d distinct events: %d duplicates%s; %d events of the trigger the kill cut short arrived too",
		len(accepted), ledger.all, len(ledger.seen), dups, dupIDs.String(), extra)
	if extra > crashBatch {
		t.Errorf("%d events arrived that no trigger accepted; at most %d (one cut-short trigger) may", extra, crashBatch)
	}
}
