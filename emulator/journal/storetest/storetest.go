// Package storetest is the conformance suite every journal.Store
// implementation passes: the in-memory one does, and a durable backend is
// done when it does too.
package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/journal"
	"github.com/knogin/argus-sandbox/internal/racetest"
)

// Run runs the suite against stores made by newStore, which returns a
// new, empty store keeping size entries per tenant for each subtest. Run
// it with -race: a case has concurrent writers.
func Run(t *testing.T, newStore func(t *testing.T, size int) journal.Store) {
	t.Run("filters", func(t *testing.T) { testFilters(t, newStore(t, 100)) })
	t.Run("pages", func(t *testing.T) { testPages(t, newStore(t, 100)) })
	t.Run("bound per tenant", func(t *testing.T) { testBound(t, newStore(t, 5)) })
	t.Run("clear", func(t *testing.T) { testClear(t, newStore(t, 100)) })
	t.Run("concurrent writers", func(t *testing.T) { testConcurrent(t, newStore(t, journal.DefaultSize)) })
}

// appender numbers the entries of a store that does not number them
// itself, as the journal does.
type appender struct {
	s   journal.Store
	seq uint64
}

func (a *appender) add(e journal.Entry) {
	a.seq++
	e.Seq = a.seq
	if e.Scopes == nil {
		e.Scopes = []string{}
	}
	a.s.Append(e)
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// entries reads every entry matching f, newest first, checking the order.
func entries(t *testing.T, s journal.Store, f journal.Filter) []journal.Entry {
	t.Helper()
	out, err := s.Entries(context.Background(), f, ^uint64(0), 10000)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(out); i++ {
		if out[i].Seq >= out[i-1].Seq {
			t.Fatalf("entries not newest first: seq %d after %d", out[i].Seq, out[i-1].Seq)
		}
	}
	return out
}

func ids(list []journal.Entry) []string {
	out := []string{}
	for _, e := range list {
		out = append(out, e.RequestID)
	}
	return out
}

// testFilters: every filter selects what it names, newest first, and an
// entry read back is the entry appended.
func testFilters(t *testing.T, s journal.Store) {
	a := &appender{s: s}
	add := func(id, tenant, op, client string, status int, at time.Duration) {
		a.add(journal.Entry{RequestID: id, Tenant: tenant, Operation: op, Status: status, Time: t0.Add(at),
			Method: "POST", Path: "/v1/x", API: "platform", Auth: journal.Auth{Method: journal.AuthAccessToken, Kind: "app", ClientID: client},
			Scopes: []string{"cases:read"}, LatencyMS: 1.5, Body: `{"a":1}`})
	}
	add("r1", "acme", "listCases", "app_1", 200, 0)
	add("r2", "acme", "graphql", "app_1", 201, time.Second)
	add("r3", "acme", "graphql", "app_2", 404, 2*time.Second)
	add("r4", "globex", "listCases", "app_3", 500, 3*time.Second)
	add("r5", "", "health", "", 200, 4*time.Second)
	for _, tc := range []struct {
		name string
		f    journal.Filter
		want []string
	}{
		{"all", journal.Filter{}, []string{"r5", "r4", "r3", "r2", "r1"}},
		{"tenant", journal.Filter{Tenant: "acme"}, []string{"r3", "r2", "r1"}},
		{"operation", journal.Filter{Operation: "graphql"}, []string{"r3", "r2"}},
		{"client", journal.Filter{ClientID: "app_1"}, []string{"r2", "r1"}},
		{"status exact", journal.Filter{StatusMin: 404, StatusMax: 404}, []string{"r3"}},
		{"status class", journal.Filter{StatusMin: 200, StatusMax: 299}, []string{"r5", "r2", "r1"}},
		{"since", journal.Filter{Since: t0.Add(2 * time.Second)}, []string{"r5", "r4", "r3"}},
		{"request id", journal.Filter{RequestID: "r4"}, []string{"r4"}},
		{"together", journal.Filter{Tenant: "acme", Operation: "graphql", ClientID: "app_2", StatusMin: 400, StatusMax: 499}, []string{"r3"}},
		{"none", journal.Filter{Tenant: "initech"}, []string{}},
	} {
		if got := ids(entries(t, s, tc.f)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	got := entries(t, s, journal.Filter{RequestID: "r2"})
	if len(got) != 1 {
		t.Fatalf("r2: %d entries", len(got))
	}
	e := got[0]
	want := journal.Entry{Seq: e.Seq, RequestID: "r2", Tenant: "acme", Operation: "graphql", Status: 201, Time: t0.Add(time.Second),
		Method: "POST", Path: "/v1/x", API: "platform", Auth: journal.Auth{Method: journal.AuthAccessToken, Kind: "app", ClientID: "app_1"},
		Scopes: []string{"cases:read"}, LatencyMS: 1.5, Body: `{"a":1}`}
	if fmt.Sprintf("%+v", e) != fmt.Sprintf("%+v", want) || !e.Time.Equal(want.Time) {
		t.Errorf("read back %+v\nwant %+v", e, want)
	}
}

// testPages: reading n at a time below the last Seq read walks every
// entry once, newest first.
func testPages(t *testing.T, s journal.Store) {
	a := &appender{s: s}
	var want []string
	for i := range 23 {
		tenant := []string{"acme", "globex", ""}[i%3]
		a.add(journal.Entry{RequestID: fmt.Sprint("r", i), Tenant: tenant, Time: t0, Status: 200})
		want = append([]string{fmt.Sprint("r", i)}, want...)
	}
	var got []string
	before := ^uint64(0)
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		page, err := s.Entries(context.Background(), journal.Filter{}, before, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 5 {
			t.Fatalf("%d entries, asked for 5", len(page))
		}
		got = append(got, ids(page)...)
		if len(page) < 5 {
			break
		}
		before = page[len(page)-1].Seq
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged %v\nwant %v", got, want)
	}
}

// testBound: a store keeps the newest size entries of each tenant, and of
// the tenantless requests, however many came.
func testBound(t *testing.T, s journal.Store) {
	a := &appender{s: s}
	for i := range 12 {
		a.add(journal.Entry{RequestID: fmt.Sprint("acme", i), Tenant: "acme", Time: t0})
		if i < 2 {
			a.add(journal.Entry{RequestID: fmt.Sprint("globex", i), Tenant: "globex", Time: t0})
		}
		a.add(journal.Entry{RequestID: fmt.Sprint("none", i), Time: t0})
	}
	// A store may prune as it writes: read, then append more, then read.
	for _, tc := range []struct {
		tenant string
		want   []string
	}{
		{"acme", []string{"acme11", "acme10", "acme9", "acme8", "acme7"}},
		{"globex", []string{"globex1", "globex0"}},
	} {
		if got := ids(entries(t, s, journal.Filter{Tenant: tc.tenant})); !slices.Equal(got, tc.want) {
			t.Errorf("%s keeps %v, want %v", tc.tenant, got, tc.want)
		}
	}
	all := entries(t, s, journal.Filter{})
	if len(all) != 5+2+5 || all[0].RequestID != "none11" {
		t.Errorf("all tenants: %v", ids(all))
	}
}

// testClear: clearing a tenant forgets its entries only; clearing all
// forgets every one; entries appended after a clear are numbered after
// every entry before it.
func testClear(t *testing.T, s journal.Store) {
	ctx := context.Background()
	a := &appender{s: s}
	for i := range 3 {
		a.add(journal.Entry{RequestID: fmt.Sprint("acme", i), Tenant: "acme", Time: t0})
		a.add(journal.Entry{RequestID: fmt.Sprint("globex", i), Tenant: "globex", Time: t0})
	}
	newest := entries(t, s, journal.Filter{})[0].Seq
	if err := s.Clear(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if got := ids(entries(t, s, journal.Filter{})); !slices.Equal(got, []string{"globex2", "globex1", "globex0"}) {
		t.Errorf("after clearing acme: %v", got)
	}
	a.add(journal.Entry{RequestID: "acme-after", Tenant: "acme", Time: t0})
	got := entries(t, s, journal.Filter{Tenant: "acme"})
	if len(got) != 1 || got[0].RequestID != "acme-after" || got[0].Seq <= newest {
		t.Errorf("after clearing acme and one request: %+v (newest before %d)", got, newest)
	}
	if err := s.Clear(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if got := entries(t, s, journal.Filter{}); len(got) != 0 {
		t.Errorf("after clearing all: %v", ids(got))
	}
}

// testConcurrent: entries appended from many goroutines at once are all
// kept, each with its own Seq, and each writer's own in the order it
// appended them.
func testConcurrent(t *testing.T, s journal.Store) {
	const writers, each = 8, 60
	seqs := make(chan uint64, writers*each)
	for i := range writers * each {
		seqs <- uint64(i + 1)
	}
	racetest.Run(writers, func(w int) {
		for i := range each {
			// A store that numbers entries itself ignores this Seq; the
			// memory store needs distinct ones.
			s.Append(journal.Entry{Seq: <-seqs, RequestID: fmt.Sprintf("w%d-%d", w, i), Tenant: fmt.Sprint("t", w%3), Time: t0, Scopes: []string{}})
		}
	})
	all := entries(t, s, journal.Filter{})
	if len(all) != writers*each {
		t.Fatalf("%d entries kept, want %d", len(all), writers*each)
	}
	next := map[int]int{}
	for i := len(all) - 1; i >= 0; i-- {
		var w, k int
		if _, err := fmt.Sscanf(all[i].RequestID, "w%d-%d", &w, &k); err != nil || k != next[w] {
			t.Fatalf("entry %s read where w%d-%d was due", all[i].RequestID, w, next[w])
		}
		next[w]++
	}
}
