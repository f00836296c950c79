// Package snapshottest checks the compare-and-swap contract shared by the
// stores that keep one snapshot for every replica (the signing keys, the
// fault rules): a swap takes effect only over the snapshot it names, a
// save over anything. The stores' storetest suites run it.
package snapshottest

import (
	"context"
	"sync"
	"testing"
)

// Store is one snapshot's operations, bound to a store under test.
type Store struct {
	// Load returns the stored snapshot, nil when none is.
	Load func(ctx context.Context) ([]byte, error)
	// Swap stores next only while prev (nil: none) is what is stored, and
	// reports whether it did.
	Swap func(ctx context.Context, prev, next []byte) (bool, error)
	// Save stores next over anything.
	Save func(ctx context.Context, next []byte) error
}

// Run checks s, which must start empty.
func Run(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	if got, err := s.Load(ctx); got != nil || err != nil {
		t.Fatalf("Load of a new store = %q, %v; want nil", got, err)
	}
	swap := func(prev, next string, want bool) {
		t.Helper()
		var p []byte
		if prev != "" {
			p = []byte(prev)
		}
		if ok, err := s.Swap(ctx, p, []byte(next)); ok != want || err != nil {
			t.Fatalf("Swap(%q, %q) = %v, %v; want %v", prev, next, ok, err, want)
		}
	}
	load := func(want string) {
		t.Helper()
		if got, err := s.Load(ctx); string(got) != want || err != nil {
			t.Fatalf("Load = %q, %v; want %q", got, err, want)
		}
	}
	swap("", `{"a":1}`, true)
	swap("", `{"b":1}`, false)
	load(`{"a":1}`)
	swap(`{"b":1}`, `{"c":1}`, false)
	swap(`{"a":1}`, `{"c":1}`, true)
	load(`{"c":1}`)
	if err := s.Save(ctx, []byte(`{"d":1}`)); err != nil {
		t.Fatal(err)
	}
	load(`{"d":1}`)
	swap(`{"c":1}`, `{"e":1}`, false)
	swap(`{"d":1}`, `{"e":1}`, true)
	load(`{"e":1}`)
}

// Writers is how many swaps RunConcurrent starts at once.
const Writers = 8

// RunConcurrent starts Writers swaps at once over one stored snapshot
// (s must start empty): exactly one may succeed. alongside, when set,
// runs in each writer's goroutine after its swap, given the writer's
// number (0 to Writers-1): another operation of the store racing the
// swaps.
func RunConcurrent(t *testing.T, s Store, alongside func(i int)) {
	t.Helper()
	ctx := context.Background()
	if ok, err := s.Swap(ctx, nil, []byte(`{"v":0}`)); !ok || err != nil {
		t.Fatalf("first Swap = %v, %v", ok, err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for i := range Writers {
		wg.Go(func() {
			ok, err := s.Swap(ctx, []byte(`{"v":0}`), []byte(`{"v":`+string(rune('1'+i))+`}`))
			if err != nil {
				t.Error(err)
			}
			if alongside != nil {
				alongside(i)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d of %d concurrent swaps over one snapshot succeeded, want 1", wins, Writers)
	}
}
