package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/knogin/argus-sandbox/emulator/graphql"
)

// testResetTenant: ResetTenant returns one tenant's cases to the seed, or
// removes them with a nil seed, and leaves another tenant's alone.
func testResetTenant(t *testing.T, s graphql.Store) {
	ctx := context.Background()
	if err := s.Reset(ctx, seed()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "a", []string{"c2"}, appendNote("n2")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "b", []string{"c3"}, appendNote("n3")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, graphql.Case{ID: "c9", Tenant: "a", Number: "A-9", Version: 1, CreatedAt: t0}, 100); err != nil {
		t.Fatal(err)
	}
	if err := s.ResetTenant(ctx, "a", seed()); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Case(ctx, "a", "c2"); err != nil || !cmp.Equal(c, seed()[1], cmpopts.EquateEmpty()) {
		t.Errorf("after ResetTenant, c2 = %+v, %v; want the seed's", c, err)
	}
	if _, err := s.Case(ctx, "a", "c9"); !errors.Is(err, graphql.ErrNotFound) {
		t.Errorf("a case created after the seed outlived ResetTenant: %v", err)
	}
	if c, _ := s.Case(ctx, "b", "c3"); len(c.Notes) != 1 {
		t.Errorf("ResetTenant of a changed another tenant's case: %+v", c)
	}
	if err := s.ResetTenant(ctx, "a", nil); err != nil {
		t.Fatal(err)
	}
	if cs, _ := allCases(ctx, s, "a"); len(cs) != 0 {
		t.Errorf("%d cases of a after ResetTenant with no seed", len(cs))
	}
	if cs, _ := allCases(ctx, s, "b"); len(cs) != 1 {
		t.Errorf("the other tenant has %d cases, want 1", len(cs))
	}
	if _, err := s.Create(ctx, graphql.Case{ID: "c1", Tenant: "a", Number: "A-1", Version: 1, CreatedAt: t0}, 100); err != nil {
		t.Errorf("a case of the emptied tenant: %v", err)
	}
}
