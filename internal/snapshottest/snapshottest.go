// Package snapshottest checks the compare-and-swap contract shared by the
// stores that keep one snapshot for every replica (the signing keys, the
// fault rules): a swap takes effect only over the snapshot it names, a
// save over anything. The stores' storetest suites run it.
package snapshottest

import (
	"context"
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
