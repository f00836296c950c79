package graphql

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/specs"
)

// TestKeepStoredStartsOnTheStore: a durable store seeded by an earlier
// start keeps its cases (KeepStored); otherwise New seeds the fixtures.
func TestKeepStoredStartsOnTheStore(t *testing.T) {
	ctx := context.Background()
	for _, keep := range []bool{true, false} {
		store := NewMemoryStore()
		kept := Case{ID: "case_kept", Tenant: "acme", Number: "ACME-9999", Title: "From an earlier start", Status: "OPEN", Version: 1}
		if err := store.Reset(ctx, []Case{kept}); err != nil {
			t.Fatal(err)
		}
		clock := core.NewVirtualClock(nil)
		t.Cleanup(clock.Close)
		if _, err := New(Config{Clock: clock, IDs: core.NewIDs(bytes.NewReader(bytes.Repeat([]byte{7}, 1<<16))),
			Fixtures: fixtures.MustDefault(), Specs: specs.Default(), Store: store, KeepStored: keep}); err != nil {
			t.Fatal(err)
		}
		_, err := store.Case(ctx, "acme", "case_kept")
		cases, _ := store.CountCases(ctx, "acme", nil)
		switch {
		case keep && (err != nil || cases != 1):
			t.Errorf("KeepStored: the stored case = %v, %d cases; want it alone", err, cases)
		case !keep && (!errors.Is(err, ErrNotFound) || cases == 0):
			t.Errorf("without KeepStored: the stored case = %v, %d cases; want the fixtures instead", err, cases)
		}
	}
}
