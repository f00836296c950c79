package storetest

import (
	"context"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/oauth"
	"github.com/knogin/argus-sandbox/internal/snapshottest"
)

// RunKeys runs the suite of the oauth.SharedKeyStore operations against
// stores made by newStore, a new, empty store for each subtest. Run it
// with -race: several cases have concurrent writers.
func RunKeys(t *testing.T, newStore func(t *testing.T) oauth.SharedKeyStore) {
	t.Run("swap", func(t *testing.T) { testKeySwap(t, newStore(t)) })
	t.Run("expiries", func(t *testing.T) { testKeyExpiries(t, newStore(t)) })
	t.Run("concurrent swaps", func(t *testing.T) { testConcurrentKeySwaps(t, newStore(t)) })
}

// testKeySwap: a swap takes effect only over the snapshot it names (nil:
// none stored), a save over anything.
func testKeySwap(t *testing.T, s oauth.SharedKeyStore) {
	snapshottest.Run(t, snapshottest.Store{Load: s.LoadKeys, Save: s.SaveKeys,
		Swap: func(ctx context.Context, prev, next []byte) (bool, error) { return s.SwapKeys(ctx, prev, next, nil) }})
}

// testKeyExpiries: a key's recorded expiry is the latest raised; a failed
// swap forgets none, a swap those it drops.
func testKeyExpiries(t *testing.T, s oauth.SharedKeyStore) {
	ctx := context.Background()
	for _, step := range []struct {
		raise, want int64
	}{{100, 100}, {50, 100}, {200, 200}} {
		if got, err := s.RaiseKeyExpiry(ctx, "kid-1", step.raise); got != step.want || err != nil {
			t.Fatalf("RaiseKeyExpiry(%d) = %d, %v; want %d", step.raise, got, err, step.want)
		}
	}
	if _, err := s.RaiseKeyExpiry(ctx, "kid-2", 7); err != nil {
		t.Fatal(err)
	}
	expiry := func(kid string, want int64) {
		t.Helper()
		if got, err := s.KeyExpiry(ctx, kid); got != want || err != nil {
			t.Fatalf("KeyExpiry(%s) = %d, %v; want %d", kid, got, err, want)
		}
	}
	expiry("kid-1", 200)
	expiry("kid-3", 0)
	if ok, err := s.SwapKeys(ctx, nil, []byte(`{"a":1}`), nil); !ok || err != nil {
		t.Fatalf("first SwapKeys = %v, %v", ok, err)
	}
	if ok, _ := s.SwapKeys(ctx, []byte(`{"x":1}`), []byte(`{"b":1}`), []string{"kid-1"}); ok {
		t.Fatal("a swap over another snapshot took effect")
	}
	expiry("kid-1", 200)
	if ok, err := s.SwapKeys(ctx, []byte(`{"a":1}`), []byte(`{"b":1}`), []string{"kid-1"}); !ok || err != nil {
		t.Fatalf("SwapKeys = %v, %v", ok, err)
	}
	expiry("kid-1", 0)
	expiry("kid-2", 7)
}

// testConcurrentKeySwaps: of concurrent swaps over one snapshot, one
// wins; expiries raised meanwhile keep the latest.
func testConcurrentKeySwaps(t *testing.T, s oauth.SharedKeyStore) {
	ctx := context.Background()
	snapshottest.RunConcurrent(t, snapshottest.Store{Load: s.LoadKeys, Save: s.SaveKeys,
		Swap: func(ctx context.Context, prev, next []byte) (bool, error) { return s.SwapKeys(ctx, prev, next, nil) }},
		func(i int) {
			if _, err := s.RaiseKeyExpiry(ctx, "kid", int64(100+i)); err != nil {
				t.Error(err)
			}
		})
	if got, _ := s.KeyExpiry(ctx, "kid"); got != 100+snapshottest.Writers-1 {
		t.Errorf("after concurrent raises the expiry is %d, want %d", got, 100+snapshottest.Writers-1)
	}
}
