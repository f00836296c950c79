package graphql

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// testStore is the behaviour every Store implementation must have; a
// durable backend passes the same suite.
func testStore(t *testing.T, newStore func() Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seed := []Case{
		{ID: "c1", Tenant: "a", Number: "A-1", Tags: []string{"x"}, Version: 1, CreatedAt: t0},
		{ID: "c2", Tenant: "a", Number: "A-2", Version: 1, CreatedAt: t0.Add(time.Hour), Notes: []Note{{ID: "n1", Body: "b"}}},
		{ID: "c3", Tenant: "b", Number: "B-1", Version: 1, CreatedAt: t0},
	}
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		run     func(s Store) (any, error)
		want    any
		wantErr error
	}{
		{name: "get", run: func(s Store) (any, error) { c, err := s.Case(ctx, "a", "c1"); return c.Number, err }, want: "A-1"},
		{name: "get in another tenant", run: func(s Store) (any, error) { _, err := s.Case(ctx, "b", "c1"); return nil, err }, wantErr: ErrNotFound},
		{name: "list newest first", run: func(s Store) (any, error) {
			cs, err := s.Cases(ctx, "a")
			var ids []string
			for _, c := range cs {
				ids = append(ids, c.ID)
			}
			return ids, err
		}, want: []string{"c2", "c1"}},
		{name: "update", run: func(s Store) (any, error) {
			if _, err := s.Update(ctx, "a", []string{"c1"}, func(cs []*Case) error { cs[0].Title = "t"; cs[0].Version++; return nil }); err != nil {
				return nil, err
			}
			c, err := s.Case(ctx, "a", "c1")
			return []any{c.Title, c.Version}, err
		}, want: []any{"t", 2}},
		{name: "update is all or nothing", run: func(s Store) (any, error) {
			_, err := s.Update(ctx, "a", []string{"c1", "c2"}, func(cs []*Case) error { cs[0].Title = "t"; return errBoom })
			c, _ := s.Case(ctx, "a", "c1")
			return c.Title, err
		}, want: "", wantErr: errBoom},
		{name: "update with a missing id changes nothing", run: func(s Store) (any, error) {
			called := false
			_, err := s.Update(ctx, "a", []string{"c1", "c3"}, func(cs []*Case) error { called = true; return nil })
			return called, err
		}, want: false, wantErr: ErrNotFound},
		{name: "returned copies are not shared", run: func(s Store) (any, error) {
			c, _ := s.Case(ctx, "a", "c2")
			c.Tags = append(c.Tags, "mutated")
			c.Notes = append(c.Notes, Note{ID: "mutated"})
			again, err := s.Case(ctx, "a", "c2")
			return []any{len(again.Tags), len(again.Notes)}, err
		}, want: []any{0, 1}},
		{name: "a returned case is a snapshot", run: func(s Store) (any, error) {
			before, _ := s.Case(ctx, "a", "c2")
			// The caller appends to its snapshot, then the store appends:
			// neither sees the other's note.
			mine := append(before.Notes, Note{ID: "mine"})
			_, err := s.Update(ctx, "a", []string{"c2"}, func(cs []*Case) error {
				cs[0].Notes = append(cs[0].Notes, Note{ID: "n2"})
				return nil
			})
			after, _ := s.Case(ctx, "a", "c2")
			return []any{noteIDs(before.Notes), noteIDs(mine), noteIDs(after.Notes)}, err
		}, want: []any{[]string{"n1"}, []string{"n1", "mine"}, []string{"n1", "n2"}}},
		{name: "a failed update appends nothing", run: func(s Store) (any, error) {
			_, err := s.Update(ctx, "a", []string{"c2"}, func(cs []*Case) error {
				cs[0].Notes = append(cs[0].Notes, Note{ID: "lost"})
				return errBoom
			})
			if _, err := s.Update(ctx, "a", []string{"c2"}, func(cs []*Case) error {
				cs[0].Notes = append(cs[0].Notes, Note{ID: "n2"})
				return nil
			}); err != nil {
				return nil, err
			}
			c, _ := s.Case(ctx, "a", "c2")
			return noteIDs(c.Notes), err
		}, want: []string{"n1", "n2"}, wantErr: errBoom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore()
			if err := s.Reset(ctx, seed); err != nil {
				t.Fatal(err)
			}
			got, err := tt.run(s)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			diff(t, tt.want, got)
		})
	}
	t.Run("concurrent appends and reads", func(t *testing.T) {
		s := newStore()
		if err := s.Reset(ctx, seed); err != nil {
			t.Fatal(err)
		}
		const writers, appends = 8, 50
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range appends {
					if _, err := s.Update(ctx, "a", []string{"c2"}, func(cs []*Case) error {
						cs[0].Notes = append(cs[0].Notes, Note{ID: fmt.Sprintf("w%d-%d", w, i)})
						return nil
					}); err != nil {
						t.Error(err)
					}
				}
			})
			// Readers walk every note of their snapshots while the
			// writers append (the race detector watches).
			wg.Go(func() {
				for range appends {
					c, err := s.Case(ctx, "a", "c2")
					if err != nil {
						t.Error(err)
						return
					}
					for _, n := range c.Notes {
						if n.ID == "" {
							t.Error("a snapshot holds a note without an id")
						}
					}
				}
			})
		}
		wg.Wait()
		c, err := s.Case(ctx, "a", "c2")
		if err != nil {
			t.Fatal(err)
		}
		if got := len(c.Notes); got != 1+writers*appends {
			t.Errorf("%d notes, want %d", got, 1+writers*appends)
		}
	})
}

func noteIDs(notes []Note) []string {
	ids := []string{}
	for _, n := range notes {
		ids = append(ids, n.ID)
	}
	return ids
}

func TestMemoryStore(t *testing.T) {
	testStore(t, func() Store { return NewMemoryStore() })
}

// TestMemoryStoreSharesNotes checks that reading a case does not copy its
// notes and that appending one does not copy the others: over many
// appends the notes move to a new array only as it grows (amortized O(1)),
// where copying them on every append and read made a case of thousands of
// notes cost megabytes per note added.
func TestMemoryStoreSharesNotes(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	if err := s.Reset(ctx, []Case{{ID: "c1", Tenant: "a", Notes: []Note{{ID: "n0"}}}}); err != nil {
		t.Fatal(err)
	}
	first := func(c Case) *Note { return &c.Notes[0] }
	a, _ := s.Case(ctx, "a", "c1")
	b, _ := s.Case(ctx, "a", "c1")
	if first(a) != first(b) {
		t.Error("reading a case copied its notes")
	}
	const appends = 1000
	arrays := map[*Note]bool{}
	for i := range appends {
		cs, err := s.Update(ctx, "a", []string{"c1"}, func(cs []*Case) error {
			cs[0].Notes = append(cs[0].Notes, Note{ID: fmt.Sprint(i)})
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
