package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/graphql"
)

// allCases reads every case of tenant through CasePage, a few at a time.
func allCases(ctx context.Context, s graphql.Store, tenant string) ([]graphql.Case, error) {
	var out []graphql.Case
	q := graphql.CaseQuery{Limit: 3}
	for {
		page, more, err := s.CasePage(ctx, tenant, q)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if !more {
			return out, nil
		}
		q.After = page[len(page)-1].ID
	}
}

// testPages holds CasePage and CountCases to keyset paging: pages in order
// (newest first, ties by id) without repeats or gaps, a filter combined
// with the cursor, a case created between pages in its place, an unknown
// cursor refused, limits at the edges.
func testPages(t *testing.T, s graphql.Store) {
	ctx := context.Background()
	var seed []graphql.Case
	for i := range 7 {
		status := "OPEN"
		if i%2 == 1 {
			status = "CLOSED"
		}
		// c0 is the oldest; c3 and c4 share the newest time (c3 first,
		// by id).
		at := t0.Add(time.Duration(i) * time.Hour)
		if i == 3 || i == 4 {
			at = t0.Add(10 * time.Hour)
		}
		seed = append(seed, graphql.Case{ID: fmt.Sprint("c", i), Tenant: "a", Status: status, Version: 1, CreatedAt: at})
	}
	seed = append(seed, graphql.Case{ID: "other", Tenant: "b", Status: "OPEN", Version: 1, CreatedAt: t0.Add(99 * time.Hour)})
	if err := s.Reset(ctx, seed); err != nil {
		t.Fatal(err)
	}
	all, err := allCases(ctx, s, "a")
	if err != nil || len(all) != 7 {
		t.Fatalf("all cases of a = %v, %v", caseIDs(all), err)
	}
	for i := 1; i < len(all); i++ {
		prev, cur := all[i-1], all[i]
		if prev.CreatedAt.Before(cur.CreatedAt) || prev.CreatedAt.Equal(cur.CreatedAt) && prev.ID > cur.ID {
			t.Fatalf("pages in turn are out of order: %v", caseIDs(all))
		}
	}
	if i3, i4 := slices.Index(caseIDs(all), "c3"), slices.Index(caseIDs(all), "c4"); i3 != 0 || i4 != 1 {
		t.Errorf("order = %v; want c3 then c4 (the newest, tied, by id) first", caseIDs(all))
	}
	first, more, err := s.CasePage(ctx, "a", graphql.CaseQuery{Limit: 2})
	if err != nil || !slices.Equal(caseIDs(first), caseIDs(all[:2])) || !more {
		t.Fatalf("first page = %v, more %v, %v", caseIDs(first), more, err)
	}
	// A newer case created between pages belongs before the cursor: the
	// next page goes on from the cursor, without it and without a repeat.
	if _, err := s.Create(ctx, graphql.Case{ID: "c9", Tenant: "a", Status: "OPEN", Version: 1, CreatedAt: t0.Add(50 * time.Hour)}, 100); err != nil {
		t.Fatal(err)
	}
	rest, more, err := s.CasePage(ctx, "a", graphql.CaseQuery{After: first[1].ID, Limit: 5})
	if err != nil || !slices.Equal(caseIDs(rest), caseIDs(all[2:])) || more {
		t.Errorf("exactly the rest = %v, more %v, %v; want %v and no more", caseIDs(rest), more, err, caseIDs(all[2:]))
	}
	closed := func(c *graphql.Case) bool { return c.Status == "CLOSED" }
	var wantClosed []string
	for _, c := range all {
		if c.Status == "CLOSED" {
			wantClosed = append(wantClosed, c.ID)
		}
	}
	p1, more1, _ := s.CasePage(ctx, "a", graphql.CaseQuery{Limit: 2, Match: closed})
	p2, more2, _ := s.CasePage(ctx, "a", graphql.CaseQuery{Limit: 2, Match: closed, After: p1[len(p1)-1].ID})
	if got := append(caseIDs(p1), caseIDs(p2)...); !slices.Equal(got, wantClosed) || !more1 || more2 {
		t.Errorf("closed cases, two a page = %v (more %v, %v); want %v", got, more1, more2, wantClosed)
	}
	if n, err := s.CountCases(ctx, "a", closed); err != nil || n != len(wantClosed) {
		t.Errorf("CountCases(closed) = %d, %v; want %d", n, err, len(wantClosed))
	}
	if n, err := s.CountCases(ctx, "a", nil); err != nil || n != 8 {
		t.Errorf("CountCases(a) = %d, %v; want 8", n, err)
	}
	if one, more, _ := s.CasePage(ctx, "a", graphql.CaseQuery{Limit: 0}); len(one) != 1 || one[0].ID != "c9" || !more {
		t.Errorf("limit 0 = %v, more %v; want the newest case and more", caseIDs(one), more)
	}
	last := all[len(all)-1].ID
	if past, more, err := s.CasePage(ctx, "a", graphql.CaseQuery{After: last, Limit: 5}); err != nil || len(past) != 0 || more {
		t.Errorf("after the last case = %v, more %v, %v", caseIDs(past), more, err)
	}
	for _, bad := range []struct{ tenant, after string }{{"a", "nope"}, {"a", "other"}, {"b", "c1"}} {
		if _, _, err := s.CasePage(ctx, bad.tenant, graphql.CaseQuery{After: bad.after, Limit: 5}); !errors.Is(err, graphql.ErrNotFound) {
			t.Errorf("tenant %s after %q: %v, want ErrNotFound", bad.tenant, bad.after, err)
		}
	}
	if b, _ := allCases(ctx, s, "b"); !slices.Equal(caseIDs(b), []string{"other"}) {
		t.Errorf("tenant b = %v; want its own case", caseIDs(b))
	}
}
