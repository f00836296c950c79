package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/graphql"
	"github.com/knogin/argus-sandbox/internal/racetest"
)

// writers is how many goroutines race in each concurrent case.
const writers = racetest.Writers

var errLimit = errors.New("too many notes")

func runConcurrency(t *testing.T, newStore func(t *testing.T) graphql.Store) {
	t.Run("appends beside readers", func(t *testing.T) { testAppendsAndReads(t, fresh(t, newStore)) })
	t.Run("a limit checked in the update holds", func(t *testing.T) { testLimit(t, fresh(t, newStore)) })
	t.Run("updates of several cases lose nothing", func(t *testing.T) { testMultiCase(t, fresh(t, newStore)) })
}

// testAppendsAndReads appends notes from many writers while readers walk
// their snapshots: every note is kept, and a snapshot taken before never
// changes.
func testAppendsAndReads(t *testing.T, s graphql.Store) {
	ctx := context.Background()
	before, err := s.Case(ctx, "a", "c2")
	if err != nil {
		t.Fatal(err)
	}
	const appends = 10
	racetest.Run(2*writers, func(i int) {
		if i%2 == 0 {
			for j := range appends {
				if _, err := s.Update(ctx, "a", []string{"c2"}, appendNote(fmt.Sprintf("w%d-%d", i, j))); err != nil {
					t.Error(err)
				}
			}
			return
		}
		// Readers walk every note of their snapshots while the writers
		// append (the race detector watches).
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
	c, err := s.Case(ctx, "a", "c2")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Notes); got != 1+writers*appends {
		t.Errorf("%d notes, want %d", got, 1+writers*appends)
	}
	seen := map[string]bool{}
	for _, n := range c.Notes {
		if seen[n.ID] {
			t.Errorf("note %s stored twice", n.ID)
		}
		seen[n.ID] = true
	}
	if d := cmp.Diff(seed()[1].Notes, before.Notes); d != "" {
		t.Errorf("the appends changed an earlier snapshot (-want +got):\n%s", d)
	}
}

// testLimit is the notes-per-case limit of addCaseNote: checked inside the
// update, it cannot be passed by appends racing each other.
func testLimit(t *testing.T, s graphql.Store) {
	ctx := context.Background()
	const limit = 11 // c2 has one note: ten more fit
	var added, refused atomic.Int32
	racetest.Run(writers, func(i int) {
		_, err := s.Update(ctx, "a", []string{"c2"}, func(cs []*graphql.Case) error {
			if len(cs[0].Notes) >= limit {
				return errLimit
			}
			cs[0].Notes = append(cs[0].Notes, graphql.Note{ID: fmt.Sprint("n", i)})
			return nil
		})
		switch {
		case err == nil:
			added.Add(1)
		case errors.Is(err, errLimit):
			refused.Add(1)
		default:
			t.Error(err)
		}
	})
	c, err := s.Case(ctx, "a", "c2")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Notes) != limit || added.Load() != limit-1 || refused.Load() != writers-limit+1 {
		t.Errorf("%d notes after %d appends and %d refusals; want %d, %d and %d",
			len(c.Notes), added.Load(), refused.Load(), limit, limit-1, writers-limit+1)
	}
}

// testMultiCase runs read-modify-write updates of two cases at once, in
// both orders of ids: none is lost and the cases stay in step.
func testMultiCase(t *testing.T, s graphql.Store) {
	ctx := context.Background()
	racetest.Run(writers, func(i int) {
		ids := []string{"c1", "c2"}
		if i%2 == 1 {
			ids = []string{"c2", "c1"}
		}
		if _, err := s.Update(ctx, "a", ids, func(cs []*graphql.Case) error {
			for _, c := range cs {
				c.Version++
				c.Tags = append(c.Tags, fmt.Sprint("t", i))
			}
			return nil
		}); err != nil {
			t.Error(err)
		}
	})
	for _, id := range []string{"c1", "c2"} {
		c, err := s.Case(ctx, "a", id)
		if err != nil {
			t.Fatal(err)
		}
		base := seed()[0]
		if id == "c2" {
			base = seed()[1]
		}
		if c.Version != base.Version+writers || len(c.Tags) != len(base.Tags)+writers {
			t.Errorf("%s: version %d with %d tags after %d updates; updates were lost", id, c.Version, len(c.Tags), writers)
		}
	}
}
