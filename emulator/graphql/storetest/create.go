package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/graphql"
	"github.com/knogin/argus-sandbox/internal/racetest"
)

// runCreate checks Create: a new case reads back, a taken id or a full
// tenant is refused without a change, and the limit holds against racing
// creates.
func runCreate(t *testing.T, newStore func(t *testing.T) graphql.Store) {
	ctx := context.Background()
	t.Run("reads back", func(t *testing.T) {
		s := fresh(t, newStore)
		c := graphql.Case{ID: "c9", Tenant: "a", Number: "A-9", Title: "New", Status: "OPEN", Priority: "LOW",
			Tags: []string{"t"}, Version: 1, CreatedAt: t0.Add(2 * time.Hour), UpdatedAt: t0.Add(2 * time.Hour)}
		got, err := s.Create(ctx, c, 10)
		if err != nil {
			t.Fatal(err)
		}
		read, err := s.Case(ctx, "a", "c9")
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range []graphql.Case{got, read} {
			if x.Title != "New" || x.Number != "A-9" || x.Version != 1 || len(x.Tags) != 1 {
				t.Errorf("created case reads back as %+v", x)
			}
		}
		c.Tags[0] = "changed" // the store keeps its own tags
		if read, _ := s.Case(ctx, "a", "c9"); read.Tags[0] != "t" {
			t.Errorf("the caller's tags are the stored ones: %v", read.Tags)
		}
		if all, _ := allCases(ctx, s, "a"); len(all) != 3 || all[0].ID != "c9" {
			t.Errorf("tenant a holds %v, want c9 first of three", caseIDs(all))
		}
		if _, err := s.Case(ctx, "b", "c9"); !errors.Is(err, graphql.ErrNotFound) {
			t.Errorf("another tenant reads the new case: %v", err)
		}
	})
	t.Run("a taken id is refused", func(t *testing.T) {
		s := fresh(t, newStore)
		if _, err := s.Create(ctx, graphql.Case{ID: "c1", Tenant: "a", Title: "Other", Version: 1}, 10); !errors.Is(err, graphql.ErrExists) {
			t.Errorf("err = %v, want ErrExists", err)
		}
		if c, _ := s.Case(ctx, "a", "c1"); c.Title != "First" {
			t.Errorf("a refused create changed c1: %+v", c)
		}
		if _, err := s.Create(ctx, graphql.Case{ID: "c1", Tenant: "b", Version: 1}, 10); err != nil {
			t.Errorf("an id of another tenant is refused: %v", err)
		}
	})
	t.Run("the limit holds against racing creates", func(t *testing.T) {
		s := fresh(t, newStore)
		const limit = 12 // tenant a holds two cases: ten more fit
		var made, refused atomic.Int32
		racetest.Run(writers, func(i int) {
			_, err := s.Create(ctx, graphql.Case{ID: fmt.Sprint("new", i), Tenant: "a", Version: 1}, limit)
			var le *core.LimitError
			switch {
			case err == nil:
				made.Add(1)
			case errors.As(err, &le) && le.Max == limit:
				refused.Add(1)
			default:
				t.Error(err)
			}
		})
		all, err := allCases(ctx, s, "a")
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != limit || made.Load() != limit-2 || refused.Load() != writers-limit+2 {
			t.Errorf("%d cases after %d creates and %d refusals; want %d, %d and %d",
				len(all), made.Load(), refused.Load(), limit, limit-2, writers-limit+2)
		}
	})
}
