// Package storetest is the conformance suite every graphql.Store
// implementation passes: the in-memory default does, and a durable backend
// is done when it does too.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/knogin/argus-sandbox/emulator/graphql"
)

// Run runs the suite against stores made by newStore, which returns a new
// store for each subtest (t is that subtest's, for its cleanup); the suite
// fills it with Reset. Run it with -race: several cases have concurrent
// writers.
//
// Records are compared with empty and nil lists taken as equal, so a
// backend may return either.
func Run(t *testing.T, newStore func(t *testing.T) graphql.Store) {
	t.Run("cases", func(t *testing.T) { runCases(t, newStore) })
	t.Run("ties are ordered by id", func(t *testing.T) { testTies(t, newStore(t)) })
	t.Run("pages", func(t *testing.T) { testPages(t, newStore(t)) })
	t.Run("reset", func(t *testing.T) { testReset(t, newStore(t)) })
	t.Run("reset one tenant", func(t *testing.T) { testResetTenant(t, newStore(t)) })
	t.Run("create", func(t *testing.T) { runCreate(t, newStore) })
	t.Run("concurrency", func(t *testing.T) { runConcurrency(t, newStore) })
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var errBoom = errors.New("boom")

// seed is two cases of tenant a (c2 the newer, with a note) and one of b.
func seed() []graphql.Case {
	return []graphql.Case{
		{ID: "c1", Tenant: "a", Number: "A-1", Title: "First", Status: "OPEN", Priority: "HIGH", Assignee: "usr_1",
			Tags: []string{"x"}, Version: 1, CreatedAt: t0, UpdatedAt: t0},
		{ID: "c2", Tenant: "a", Number: "A-2", Version: 1, CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour),
			Notes: []graphql.Note{{ID: "n1", Author: "usr_1", Body: "b", CreatedAt: t0.Add(time.Hour)}}},
		{ID: "c3", Tenant: "b", Number: "B-1", Version: 1, CreatedAt: t0, UpdatedAt: t0},
	}
}

// fresh returns a store holding seed.
func fresh(t *testing.T, newStore func(t *testing.T) graphql.Store) graphql.Store {
	t.Helper()
	s := newStore(t)
	if err := s.Reset(context.Background(), seed()); err != nil {
		t.Fatal(err)
	}
	return s
}

func appendNote(id string) func([]*graphql.Case) error {
	return func(cs []*graphql.Case) error {
		cs[0].Notes = append(cs[0].Notes, graphql.Note{ID: id})
		return nil
	}
}

func noteIDs(notes []graphql.Note) []string {
	ids := []string{}
	for _, n := range notes {
		ids = append(ids, n.ID)
	}
	return ids
}

func caseIDs(cs []graphql.Case) []string {
	ids := []string{}
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	return ids
}

func runCases(t *testing.T, newStore func(t *testing.T) graphql.Store) {
	ctx := context.Background()
	tests := []struct {
		name    string
		run     func(s graphql.Store) (any, error)
		want    any
		wantErr error
	}{
		{name: "get", run: func(s graphql.Store) (any, error) { c, err := s.Case(ctx, "a", "c1"); return c.Number, err }, want: "A-1"},
		{name: "get keeps every field", run: func(s graphql.Store) (any, error) { return s.Case(ctx, "a", "c2") }, want: seed()[1]},
		{name: "get a missing case", run: func(s graphql.Store) (any, error) { _, err := s.Case(ctx, "a", "nope"); return nil, err }, wantErr: graphql.ErrNotFound},
		{name: "get in another tenant", run: func(s graphql.Store) (any, error) { _, err := s.Case(ctx, "b", "c1"); return nil, err }, wantErr: graphql.ErrNotFound},
		{name: "list newest first", run: func(s graphql.Store) (any, error) {
			cs, err := allCases(ctx, s, "a")
			return caseIDs(cs), err
		}, want: []string{"c2", "c1"}},
		{name: "list one tenant only", run: func(s graphql.Store) (any, error) {
			cs, err := allCases(ctx, s, "b")
			return caseIDs(cs), err
		}, want: []string{"c3"}},
		{name: "list an unknown tenant", run: func(s graphql.Store) (any, error) {
			cs, err := allCases(ctx, s, "nobody")
			return len(cs), err
		}, want: 0},
		{name: "update", run: func(s graphql.Store) (any, error) {
			if _, err := s.Update(ctx, "a", []string{"c1"}, func(cs []*graphql.Case) error { cs[0].Title = "t"; cs[0].Version++; return nil }); err != nil {
				return nil, err
			}
			c, err := s.Case(ctx, "a", "c1")
			return []any{c.Title, c.Version}, err
		}, want: []any{"t", 2}},
		{name: "update returns the cases in the order of ids", run: func(s graphql.Store) (any, error) {
			cs, err := s.Update(ctx, "a", []string{"c2", "c1"}, func(cs []*graphql.Case) error {
				cs[0].Title, cs[1].Title = "second", "first"
				return nil
			})
			var titles []string
			for _, c := range cs {
				titles = append(titles, c.ID+"="+c.Title)
			}
			return titles, err
		}, want: []string{"c2=second", "c1=first"}},
		{name: "update is all or nothing", run: func(s graphql.Store) (any, error) {
			_, err := s.Update(ctx, "a", []string{"c1", "c2"}, func(cs []*graphql.Case) error { cs[0].Title = "t"; return errBoom })
			c, _ := s.Case(ctx, "a", "c1")
			return c.Title, err
		}, want: "First", wantErr: errBoom},
		{name: "a failed update changes no tag", run: func(s graphql.Store) (any, error) {
			_, err := s.Update(ctx, "a", []string{"c1"}, func(cs []*graphql.Case) error { cs[0].Tags[0] = "changed"; return errBoom })
			c, _ := s.Case(ctx, "a", "c1")
			return c.Tags, err
		}, want: []string{"x"}, wantErr: errBoom},
		{name: "update with a missing id changes nothing", run: func(s graphql.Store) (any, error) {
			called := false
			_, err := s.Update(ctx, "a", []string{"c1", "c3"}, func(cs []*graphql.Case) error { called = true; return nil })
			return called, err
		}, want: false, wantErr: graphql.ErrNotFound},
		{name: "update in another tenant", run: func(s graphql.Store) (any, error) {
			called := false
			_, err := s.Update(ctx, "b", []string{"c1"}, func(cs []*graphql.Case) error { called = true; return nil })
			c, _ := s.Case(ctx, "a", "c1")
			return []any{called, c.Title}, err
		}, want: []any{false, "First"}, wantErr: graphql.ErrNotFound},
		{name: "update cannot move a case", run: func(s graphql.Store) (any, error) {
			cs, err := s.Update(ctx, "a", []string{"c1"}, func(cs []*graphql.Case) error {
				cs[0].ID, cs[0].Tenant, cs[0].Title = "hijack", "b", "moved"
				return nil
			})
			if err != nil {
				return nil, err
			}
			c, err := s.Case(ctx, "a", "c1")
			_, errB := s.Case(ctx, "b", "c1")
			_, errHijack := s.Case(ctx, "a", "hijack")
			return []any{cs[0].ID, cs[0].Tenant, c.Title, errors.Is(errB, graphql.ErrNotFound), errors.Is(errHijack, graphql.ErrNotFound)}, err
		}, want: []any{"c1", "a", "moved", true, true}},
		{name: "returned copies are not shared", run: func(s graphql.Store) (any, error) {
			c, _ := s.Case(ctx, "a", "c2")
			c.Tags = append(c.Tags, "mutated")
			c.Notes = append(c.Notes, graphql.Note{ID: "mutated"})
			again, err := s.Case(ctx, "a", "c2")
			return []any{len(again.Tags), len(again.Notes)}, err
		}, want: []any{0, 1}},
		{name: "the result of an update is a copy", run: func(s graphql.Store) (any, error) {
			cs, err := s.Update(ctx, "a", []string{"c1"}, func([]*graphql.Case) error { return nil })
			if err != nil {
				return nil, err
			}
			cs[0].Tags[0] = "mutated"
			cs[0].Notes = append(cs[0].Notes, graphql.Note{ID: "mutated"})
			c, err := s.Case(ctx, "a", "c1")
			return []any{c.Tags, len(c.Notes)}, err
		}, want: []any{[]string{"x"}, 0}},
		{name: "a closure that keeps its case changes nothing later", run: func(s graphql.Store) (any, error) {
			var kept *graphql.Case
			if _, err := s.Update(ctx, "a", []string{"c1"}, func(cs []*graphql.Case) error { kept = cs[0]; return nil }); err != nil {
				return nil, err
			}
			kept.Title, kept.Tags[0] = "late", "late"
			c, err := s.Case(ctx, "a", "c1")
			return []any{c.Title, c.Tags}, err
		}, want: []any{"First", []string{"x"}}},
		{name: "a returned case is a snapshot", run: func(s graphql.Store) (any, error) {
			before, _ := s.Case(ctx, "a", "c2")
			// The caller appends to its snapshot, then the store appends:
			// neither sees the other's note.
			mine := append(before.Notes, graphql.Note{ID: "mine"})
			_, err := s.Update(ctx, "a", []string{"c2"}, appendNote("n2"))
			after, _ := s.Case(ctx, "a", "c2")
			return []any{noteIDs(before.Notes), noteIDs(mine), noteIDs(after.Notes)}, err
		}, want: []any{[]string{"n1"}, []string{"n1", "mine"}, []string{"n1", "n2"}}},
		{name: "every snapshot and the store append apart", run: func(s graphql.Store) (any, error) {
			// Round after round, so that some snapshot is taken while the
			// store's notes have room to grow in place.
			for round := range 10 {
				before, _ := s.Case(ctx, "a", "c2")
				mine := append(before.Notes, graphql.Note{ID: "mine"})
				theirs := fmt.Sprint("n", round+2)
				if _, err := s.Update(ctx, "a", []string{"c2"}, appendNote(theirs)); err != nil {
					return nil, err
				}
				after, _ := s.Case(ctx, "a", "c2")
				if got := mine[len(mine)-1].ID; got != "mine" {
					return fmt.Sprintf("round %d: the store's append overwrote the caller's with %s", round, got), nil
				}
				if got := after.Notes[len(after.Notes)-1].ID; got != theirs {
					return fmt.Sprintf("round %d: the caller's append overwrote the store's with %s", round, got), nil
				}
			}
			return nil, nil
		}, want: nil},
		{name: "a snapshot outlives many appends", run: func(s graphql.Store) (any, error) {
			before, _ := s.Case(ctx, "a", "c2")
			for i := range 100 {
				if _, err := s.Update(ctx, "a", []string{"c2"}, appendNote(fmt.Sprint(i))); err != nil {
					return nil, err
				}
			}
			after, err := s.Case(ctx, "a", "c2")
			return []any{noteIDs(before.Notes), len(after.Notes)}, err
		}, want: []any{[]string{"n1"}, 101}},
		{name: "a failed update appends nothing", run: func(s graphql.Store) (any, error) {
			_, err := s.Update(ctx, "a", []string{"c2"}, func(cs []*graphql.Case) error {
				cs[0].Notes = append(cs[0].Notes, graphql.Note{ID: "lost"})
				return errBoom
			})
			if _, err := s.Update(ctx, "a", []string{"c2"}, appendNote("n2")); err != nil {
				return nil, err
			}
			c, _ := s.Case(ctx, "a", "c2")
			return noteIDs(c.Notes), err
		}, want: []string{"n1", "n2"}, wantErr: errBoom},
		{name: "notes move between cases in one update", run: func(s graphql.Store) (any, error) {
			before, _ := s.Case(ctx, "a", "c2")
			cs, err := s.Update(ctx, "a", []string{"c1", "c2"}, func(cs []*graphql.Case) error {
				cs[0].Notes = append(cs[0].Notes, cs[1].Notes...)
				cs[1].Notes = nil
				return nil
			})
			if err != nil {
				return nil, err
			}
			c1, _ := s.Case(ctx, "a", "c1")
			c2, err := s.Case(ctx, "a", "c2")
			return []any{noteIDs(cs[0].Notes), noteIDs(c1.Notes), noteIDs(c2.Notes), noteIDs(before.Notes)}, err
		}, want: []any{[]string{"n1"}, []string{"n1"}, []string{}, []string{"n1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fresh(t, newStore)
			got, err := tt.run(s)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

func testTies(t *testing.T, s graphql.Store) {
	ctx := context.Background()
	if err := s.Reset(ctx, []graphql.Case{
		{ID: "c9", Tenant: "a", CreatedAt: t0},
		{ID: "c1", Tenant: "a", CreatedAt: t0},
		{ID: "c5", Tenant: "a", CreatedAt: t0.Add(time.Second)},
		{ID: "c3", Tenant: "a", CreatedAt: t0},
	}); err != nil {
		t.Fatal(err)
	}
	cs, err := allCases(ctx, s, "a")
	if d := cmp.Diff([]string{"c5", "c1", "c3", "c9"}, caseIDs(cs)); err != nil || d != "" {
		t.Errorf("Cases: %v (-want +got):\n%s", err, d)
	}
}

func testReset(t *testing.T, s graphql.Store) {
	ctx := context.Background()
	sd := seed()
	if err := s.Reset(ctx, sd); err != nil {
		t.Fatal(err)
	}
	// The seed stays the caller's.
	sd[0].Tags[0], sd[1].Notes[0].Body = "mutated", "mutated"
	if c, _ := s.Case(ctx, "a", "c1"); c.Tags[0] != "x" {
		t.Errorf("the store shares the seed's tags: %v", c.Tags)
	}
	if c, _ := s.Case(ctx, "a", "c2"); c.Notes[0].Body != "b" {
		t.Errorf("the store shares the seed's notes: %+v", c.Notes)
	}
	if _, err := s.Update(ctx, "a", []string{"c2"}, appendNote("n2")); err != nil {
		t.Fatal(err)
	}
	// A reset replaces every case: the appended note and the cases
	// missing from the new seed are gone.
	if err := s.Reset(ctx, seed()[1:2]); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Case(ctx, "a", "c2"); err != nil || !cmp.Equal(c, seed()[1], cmpopts.EquateEmpty()) {
		t.Errorf("after reset, c2 = %+v, %v; want the seed's", c, err)
	}
	for _, key := range [][2]string{{"a", "c1"}, {"b", "c3"}} {
		if _, err := s.Case(ctx, key[0], key[1]); !errors.Is(err, graphql.ErrNotFound) {
			t.Errorf("case %s of %s outlived the reset: %v", key[1], key[0], err)
		}
	}
	if err := s.Reset(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if cs, err := allCases(ctx, s, "a"); err != nil || len(cs) != 0 {
		t.Errorf("after an empty reset: %d cases, %v", len(cs), err)
	}
}
