package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/platform"
)

// allApps reads every app of tenant through ListApps, a few at a time.
func allApps(ctx context.Context, s platform.Store, tenant string) ([]platform.App, error) {
	return walk(func(after int) ([]platform.App, int, error) { return s.ListApps(ctx, tenant, after, 3) })
}

// allAudit reads tenant's whole trail through ListAudit, a few at a time.
func allAudit(ctx context.Context, s platform.Store, tenant string) ([]platform.AuditEvent, error) {
	return walk(func(after int) ([]platform.AuditEvent, int, error) {
		return s.ListAudit(ctx, tenant, platform.AuditQuery{After: after, Limit: 3})
	})
}

// walk follows a list's pages from the first until next is 0.
func walk[T any](page func(after int) ([]T, int, error)) ([]T, error) {
	var out []T
	for after := 0; ; {
		items, next, err := page(after)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == 0 {
			return out, nil
		}
		after = next
	}
}

// runPages holds ListApps and ListAudit to keyset paging: pages follow
// each other without repeats or gaps, a record deleted (or dropped by
// retention) between two pages moves no other, filters combine with the
// cursor, and limits at the edges (below 1, exactly the rest, past the
// end) answer what the interface says.
func runPages(t *testing.T, newStore func(t *testing.T, limits platform.Limits) platform.Store) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ids := func(apps []platform.App) []string {
		var out []string
		for _, a := range apps {
			out = append(out, a.ID)
		}
		return out
	}

	t.Run("apps pages", func(t *testing.T) {
		s := newStore(t, platform.Limits{})
		for i := 1; i <= 7; i++ {
			for _, tenant := range []string{"acme", "globex"} {
				id := fmt.Sprintf("app_%s_%d", tenant, i)
				if err := s.CreateApp(ctx, platform.App{ID: id, ClientID: "cli_" + id, Tenant: tenant, Name: id, CreatedAt: now}); err != nil {
					t.Fatal(err)
				}
			}
		}
		empty, next, err := s.ListApps(ctx, "initech", 0, 5)
		if err != nil || len(empty) != 0 || next != 0 {
			t.Errorf("a tenant without apps: %v, next %d, %v; want an empty last page", ids(empty), next, err)
		}
		first, next, err := s.ListApps(ctx, "acme", 0, 3)
		if want := []string{"app_acme_1", "app_acme_2", "app_acme_3"}; err != nil || !slices.Equal(ids(first), want) || next == 0 {
			t.Fatalf("first page = %v, next %d, %v; want %v and a next position", ids(first), next, err, want)
		}
		// app_acme_4 (the next page's first) and app_acme_3 (the last
		// served) are deleted between the pages: the next page starts at
		// the first app still kept after the cursor, skipping nothing else.
		for _, id := range []string{"app_acme_3", "app_acme_4"} {
			if _, err := s.DeleteApp(ctx, "acme", id); err != nil {
				t.Fatal(err)
			}
		}
		second, next2, err := s.ListApps(ctx, "acme", next, 3)
		if want := []string{"app_acme_5", "app_acme_6", "app_acme_7"}; err != nil || !slices.Equal(ids(second), want) || next2 != 0 {
			t.Errorf("page after deletes = %v, next %d, %v; want %v as the last page (exactly the rest)", ids(second), next2, err, want)
		}
		// A new app goes after every position handed out.
		if err := s.CreateApp(ctx, platform.App{ID: "app_acme_8", ClientID: "cli_acme_8", Tenant: "acme", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if tail, n, _ := s.ListApps(ctx, "acme", next, 10); !slices.Equal(ids(tail), []string{"app_acme_5", "app_acme_6", "app_acme_7", "app_acme_8"}) || n != 0 {
			t.Errorf("page with room to spare = %v, next %d", ids(tail), n)
		}
		one, n1, _ := s.ListApps(ctx, "acme", 0, 0)
		if !slices.Equal(ids(one), []string{"app_acme_1"}) || n1 == 0 {
			t.Errorf("limit 0 = %v, next %d; want one app and a next position", ids(one), n1)
		}
		if all, _ := allApps(ctx, s, "acme"); !slices.Equal(ids(all), []string{"app_acme_1", "app_acme_2", "app_acme_5", "app_acme_6", "app_acme_7", "app_acme_8"}) {
			t.Errorf("every page in turn = %v", ids(all))
		}
		if past, n, err := s.ListApps(ctx, "acme", 1<<40, 5); err != nil || len(past) != 0 || n != 0 {
			t.Errorf("a position past the end = %v, next %d, %v; want an empty last page", ids(past), n, err)
		}
		if other, _ := allApps(ctx, s, "globex"); len(other) != 7 || other[0].ID != "app_globex_1" || other[6].ID != "app_globex_7" {
			t.Errorf("globex's apps = %v; want its own 7, untouched", ids(other))
		}
	})

	t.Run("audit pages", func(t *testing.T) {
		s := newStore(t, platform.Limits{AuditEventsPerTenant: 8})
		for i := 1; i <= 6; i++ {
			target := "app_a"
			if i%2 == 0 {
				target = "app_b"
			}
			if err := s.AppendAudit(ctx, platform.AuditEvent{ID: fmt.Sprint("aud_", i), Tenant: "acme", Target: target, OccurredAt: now}); err != nil {
				t.Fatal(err)
			}
			_ = s.AppendAudit(ctx, platform.AuditEvent{ID: fmt.Sprint("aud_globex_", i), Tenant: "globex", Target: target, OccurredAt: now})
		}
		seqs := func(es []platform.AuditEvent) []int {
			var out []int
			for _, e := range es {
				out = append(out, e.Seq)
			}
			return out
		}
		first, next, err := s.ListAudit(ctx, "acme", platform.AuditQuery{Limit: 4})
		if err != nil || !slices.Equal(seqs(first), []int{1, 2, 3, 4}) || next != 4 {
			t.Fatalf("first page = %v, next %d, %v; want 1-4, next 4", seqs(first), next, err)
		}
		if last, n, _ := s.ListAudit(ctx, "acme", platform.AuditQuery{After: next, Limit: 2}); !slices.Equal(seqs(last), []int{5, 6}) || n != 0 {
			t.Errorf("exactly the rest = %v, next %d; want 5, 6 and no next page", seqs(last), n)
		}
		// A filter combines with the cursor: only app_b's events, two a page.
		b1, bn, _ := s.ListAudit(ctx, "acme", platform.AuditQuery{Target: "app_b", Limit: 2})
		b2, bn2, _ := s.ListAudit(ctx, "acme", platform.AuditQuery{Target: "app_b", After: bn, Limit: 2})
		if !slices.Equal(seqs(b1), []int{2, 4}) || bn != 4 || !slices.Equal(seqs(b2), []int{6}) || bn2 != 0 {
			t.Errorf("app_b pages = %v (next %d), %v (next %d); want [2 4] (4), [6] (0)", seqs(b1), bn, seqs(b2), bn2)
		}
		if none, n, _ := s.ListAudit(ctx, "acme", platform.AuditQuery{Target: "app_c", Limit: 5}); len(none) != 0 || n != 0 {
			t.Errorf("a target without events = %v, next %d", seqs(none), n)
		}
		// Past the retention the oldest events go; a cursor into them
		// goes on at the oldest event kept, skipping nothing kept.
		for i := 7; i <= 12; i++ {
			_ = s.AppendAudit(ctx, platform.AuditEvent{ID: fmt.Sprint("aud_", i), Tenant: "acme", Target: "app_a", OccurredAt: now})
		}
		if page, n, _ := s.ListAudit(ctx, "acme", platform.AuditQuery{After: 2, Limit: 3}); !slices.Equal(seqs(page), []int{5, 6, 7}) || n != 7 {
			t.Errorf("after a dropped event = %v, next %d; want 5-7 (the oldest kept), next 7", seqs(page), n)
		}
		if one, n, _ := s.ListAudit(ctx, "acme", platform.AuditQuery{After: 11, Limit: -1}); !slices.Equal(seqs(one), []int{12}) || n != 0 {
			t.Errorf("limit -1 after 11 = %v, next %d; want the one event left", seqs(one), n)
		}
		if past, n, _ := s.ListAudit(ctx, "acme", platform.AuditQuery{After: 99, Limit: 5}); len(past) != 0 || n != 0 {
			t.Errorf("past the end = %v, next %d", seqs(past), n)
		}
		if g, _ := allAudit(ctx, s, "globex"); !slices.Equal(seqs(g), []int{1, 2, 3, 4, 5, 6}) {
			t.Errorf("globex's trail = %v; want its own 6 events", seqs(g))
		}
	})
}
