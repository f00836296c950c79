// Package storetest is the conformance suite every faults.SharedStateStore
// implementation passes: the in-memory one does, and a durable backend is
// done when it does too.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/internal/snapshottest"
)

// Run runs the suite against stores made by newStore, which returns a
// new, empty store for each subtest. Run it with -race: several cases
// have concurrent writers.
func Run(t *testing.T, newStore func(t *testing.T) faults.SharedStateStore) {
	t.Run("swap", func(t *testing.T) { testSwap(t, newStore(t)) })
	t.Run("counting", func(t *testing.T) { testCounting(t, newStore(t)) })
	t.Run("swap drops counters", func(t *testing.T) { testDrop(t, newStore(t)) })
	t.Run("concurrent counting", func(t *testing.T) { testConcurrentCounting(t, newStore(t)) })
	t.Run("concurrent swaps", func(t *testing.T) { testConcurrentSwaps(t, newStore(t)) })
	t.Run("firing log", func(t *testing.T) { testEvents(t, newStore(t)) })
	t.Run("concurrent firings", func(t *testing.T) { testConcurrentEvents(t, newStore(t)) })
}

// testEvents: the log lists firings oldest first, keeps the most recent
// keep, filters by rule and tenant before its limit, and empties.
func testEvents(t *testing.T, s faults.SharedStateStore) {
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 8 {
		ev := faults.Event{ID: fmt.Sprintf("fault_%d", i), Rule: []string{"slow", "gone"}[i%2], Action: "delay",
			Target: faults.TargetHTTP, At: at.Add(time.Duration(i) * time.Second), Tenant: []string{"acme", "globex", "acme", "acme"}[i%4],
			RequestID: fmt.Sprintf("req_%d", i), Detail: "delayed 2s"}
		if err := s.AppendEvent(ctx, ev, 6); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(f faults.EventFilter) []string {
		t.Helper()
		evs, err := s.Events(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, ev := range evs {
			out = append(out, ev.ID)
		}
		return out
	}
	for _, c := range []struct {
		f    faults.EventFilter
		want []string
	}{
		{faults.EventFilter{}, []string{"fault_2", "fault_3", "fault_4", "fault_5", "fault_6", "fault_7"}},
		{faults.EventFilter{Rule: "gone"}, []string{"fault_3", "fault_5", "fault_7"}},
		{faults.EventFilter{Tenant: "globex"}, []string{"fault_5"}},
		{faults.EventFilter{Tenant: "acme", Limit: 2}, []string{"fault_6", "fault_7"}},
		{faults.EventFilter{Rule: "slow", Tenant: "acme", Limit: 10}, []string{"fault_2", "fault_4", "fault_6"}},
		{faults.EventFilter{Rule: "none"}, []string{}},
	} {
		if diff := cmp.Diff(c.want, ids(c.f)); diff != "" {
			t.Errorf("Events(%+v) (-want +got):\n%s", c.f, diff)
		}
	}
	evs, err := s.Events(ctx, faults.EventFilter{Limit: 1})
	if err != nil || len(evs) != 1 {
		t.Fatalf("Events(limit 1) = %v, %v", evs, err)
	}
	want := faults.Event{ID: "fault_7", Rule: "gone", Action: "delay", Target: faults.TargetHTTP, At: at.Add(7 * time.Second),
		Tenant: "acme", RequestID: "req_7", Detail: "delayed 2s"}
	if diff := cmp.Diff(want, evs[0]); diff != "" {
		t.Errorf("the newest firing as read back (-want +got):\n%s", diff)
	}
	if err := s.ClearEvents(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ids(faults.EventFilter{}); len(got) != 0 {
		t.Errorf("after ClearEvents the log holds %v", got)
	}
	if err := s.AppendEvent(ctx, faults.Event{ID: "after", Rule: "slow", At: at}, 6); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"after"}, ids(faults.EventFilter{})); diff != "" {
		t.Errorf("a firing after the clear (-want +got):\n%s", diff)
	}
}

// testConcurrentEvents: firings appended at once from many writers are
// all logged, each once, and the bound holds.
func testConcurrentEvents(t *testing.T, s faults.SharedStateStore) {
	ctx := context.Background()
	const writers, each, keep = 8, 10, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.AppendEvent(ctx, faults.Event{ID: fmt.Sprintf("fault_%d_%d", w, i), Rule: "r", At: time.Now()}, keep); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	evs, err := s.Events(ctx, faults.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != keep {
		t.Fatalf("the log holds %d firings after %d appends, want the bound %d", len(evs), writers*each, keep)
	}
	seen := map[string]bool{}
	last := map[int]int{}
	for _, ev := range evs {
		if seen[ev.ID] {
			t.Fatalf("firing %s listed twice", ev.ID)
		}
		seen[ev.ID] = true
		var w, i int
		if _, err := fmt.Sscanf(ev.ID, "fault_%d_%d", &w, &i); err != nil {
			t.Fatal(err)
		}
		if prev, ok := last[w]; ok && i <= prev {
			t.Fatalf("writer %d's firing %d listed after its firing %d: not oldest first", w, i, prev)
		}
		last[w] = i
	}
}

// testSwap: a swap takes effect only over the snapshot it names (nil:
// none stored), a save over anything.
func testSwap(t *testing.T, s faults.SharedStateStore) {
	snapshottest.Run(t, snapshottest.Store{Load: s.LoadRules, Save: s.SaveRules,
		Swap: func(ctx context.Context, prev, next []byte) (bool, error) { return s.SwapRules(ctx, prev, next, nil) }})
}

// testCounting: CountMatch counts every match and, when asked, the
// matches whose number is past after and within limit as firings;
// CountFiring adds a firing; LoadCounts shows each rule's.
func testCounting(t *testing.T, s faults.SharedStateStore) {
	ctx := context.Background()
	want := []faults.Counts{{Matched: 1}, {Matched: 2, Fired: 1}, {Matched: 3, Fired: 2}, {Matched: 4, Fired: 2}}
	for i, w := range want {
		if got, err := s.CountMatch(ctx, "limited", true, 1, 3); got != w || err != nil {
			t.Fatalf("match %d of after 1, limit 3 = %+v, %v; want %+v", i+1, got, err, w)
		}
	}
	for i := range 3 {
		if got, err := s.CountMatch(ctx, "always", true, 0, 0); got != (faults.Counts{Matched: int64(i + 1), Fired: int64(i + 1)}) || err != nil {
			t.Fatalf("match %d of an unlimited rule = %+v, %v", i+1, got, err)
		}
	}
	if got, err := s.CountMatch(ctx, "chance", false, 0, 0); got != (faults.Counts{Matched: 1}) || err != nil {
		t.Fatalf("a match not asked to fire = %+v, %v", got, err)
	}
	if got, err := s.CountFiring(ctx, "chance"); got != (faults.Counts{Matched: 1, Fired: 1}) || err != nil {
		t.Fatalf("CountFiring = %+v, %v", got, err)
	}
	counts, err := s.LoadCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantAll := map[string]faults.Counts{"limited": {Matched: 4, Fired: 2}, "always": {Matched: 3, Fired: 3}, "chance": {Matched: 1, Fired: 1}}
	if len(counts) != len(wantAll) {
		t.Errorf("LoadCounts = %v, want %v", counts, wantAll)
	}
	for id, w := range wantAll {
		if counts[id] != w {
			t.Errorf("LoadCounts[%s] = %+v, want %+v", id, counts[id], w)
		}
	}
}

// testDrop: a swap deletes the counters it drops, a failed one none.
func testDrop(t *testing.T, s faults.SharedStateStore) {
	ctx := context.Background()
	for _, id := range []string{"kept", "gone"} {
		if _, err := s.CountMatch(ctx, id, true, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := s.SwapRules(ctx, nil, []byte(`{"rules":[1]}`), nil); !ok || err != nil {
		t.Fatalf("SwapRules = %v, %v", ok, err)
	}
	if ok, _ := s.SwapRules(ctx, []byte(`{"rules":[9]}`), []byte(`{"rules":[2]}`), []string{"gone"}); ok {
		t.Fatal("a swap over another snapshot took effect")
	}
	if counts, _ := s.LoadCounts(ctx); len(counts) != 2 {
		t.Fatalf("a failed swap dropped counters: %v", counts)
	}
	if ok, err := s.SwapRules(ctx, []byte(`{"rules":[1]}`), []byte(`{"rules":[2]}`), []string{"gone"}); !ok || err != nil {
		t.Fatalf("SwapRules = %v, %v", ok, err)
	}
	counts, err := s.LoadCounts(ctx)
	if err != nil || len(counts) != 1 || counts["kept"] != (faults.Counts{Matched: 1, Fired: 1}) {
		t.Errorf("after dropping gone, LoadCounts = %v, %v; want kept's alone", counts, err)
	}
	if got, _ := s.CountMatch(ctx, "gone", true, 0, 0); got != (faults.Counts{Matched: 1, Fired: 1}) {
		t.Errorf("a dropped rule's counters start at %+v, want from zero", got)
	}
}

// testConcurrentCounting: 30 concurrent matches of a rule limited to 3
// count 30 matches, and exactly 3 of them see themselves fire.
func testConcurrentCounting(t *testing.T, s faults.SharedStateStore) {
	ctx := context.Background()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		fired int
		seen  = map[int64]bool{}
	)
	for range 30 {
		wg.Go(func() {
			c, err := s.CountMatch(ctx, "thrice", true, 0, 3)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[c.Matched] {
				t.Errorf("two matches were counted as number %d", c.Matched)
			}
			seen[c.Matched] = true
			if c.Matched <= 3 {
				fired++
			}
		})
	}
	wg.Wait()
	counts, err := s.LoadCounts(ctx)
	if err != nil || counts["thrice"] != (faults.Counts{Matched: 30, Fired: 3}) || fired != 3 {
		t.Errorf("30 concurrent matches: counts %v (%v), %d saw themselves fire; want 30 matches, 3 firings", counts, err, fired)
	}
}

// testConcurrentSwaps: of concurrent swaps over one snapshot, one wins.
func testConcurrentSwaps(t *testing.T, s faults.SharedStateStore) {
	snapshottest.RunConcurrent(t, snapshottest.Store{Load: s.LoadRules, Save: s.SaveRules,
		Swap: func(ctx context.Context, prev, next []byte) (bool, error) { return s.SwapRules(ctx, prev, next, nil) }}, nil)
}
