package graphql_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/graphql"
	"github.com/knogin/argus-sandbox/emulator/graphql/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) graphql.Store { return graphql.NewMemoryStore() })
}

// TestMemoryStoreSharesNotes checks that reading a case does not copy its
// notes and that appending one does not copy the others: over many
// appends the notes move to a new array only as it grows (amortized O(1)),
// where copying them on every append and read made a case of thousands of
// notes cost megabytes per note added.
func TestMemoryStoreSharesNotes(t *testing.T) {
	ctx := context.Background()
	s := graphql.NewMemoryStore()
	if err := s.Reset(ctx, []graphql.Case{{ID: "c1", Tenant: "a", Notes: []graphql.Note{{ID: "n0"}}}}); err != nil {
		t.Fatal(err)
	}
	first := func(c graphql.Case) *graphql.Note { return &c.Notes[0] }
	a, _ := s.Case(ctx, "a", "c1")
	b, _ := s.Case(ctx, "a", "c1")
	if first(a) != first(b) {
		t.Error("reading a case copied its notes")
	}
	const appends = 1000
	arrays := map[*graphql.Note]bool{}
	for i := range appends {
		cs, err := s.Update(ctx, "a", []string{"c1"}, func(cs []*graphql.Case) error {
			cs[0].Notes = append(cs[0].Notes, graphql.Note{ID: fmt.Sprint(i)})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		arrays[first(cs[0])] = true
	}
	// Doubling from one note to 1,001 takes about ten arrays.
	if len(arrays) > 20 {
		t.Errorf("%d appends used %d arrays of notes: the notes are copied", appends, len(arrays))
	}
	if got, _ := s.Case(ctx, "a", "c1"); len(got.Notes) != appends+1 || got.Notes[appends].ID != fmt.Sprint(appends-1) {
		t.Errorf("%d notes, last %s", len(got.Notes), got.Notes[len(got.Notes)-1].ID)
	}
}
