// Package storetest is the conformance suite every faults.SharedStateStore
// implementation passes: the in-memory one does, and a durable backend is
// done when it does too.
package storetest

import (
	"context"
	"sync"
	"testing"

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
