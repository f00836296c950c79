package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/graphql"
	"github.com/knogin/argus-sandbox/emulator/platform"
	"github.com/knogin/argus-sandbox/emulator/sqlstore"
)

// fillAudit gives acme and globex n audit events each (positions 1 to n).
func fillAudit(tb testing.TB, db *sqlstore.DB, n int) {
	tb.Helper()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	err := db.FillRecords(context.Background(), "audit", []string{"acme", "globex"}, n, func(tenant string, i int) any {
		return platform.AuditEvent{ID: fmt.Sprint("aud_", i), Seq: i, Tenant: tenant, Action: "app.updated",
			ActorType: "admin", ActorID: tenant, Target: fmt.Sprint("app_", i%7), OccurredAt: at}
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// TestKeysetPageReadsOnlyThePage checks what a page costs the database:
// with 5,000 events in each of two tenants, a page of 20 from the middle
// of one trail reads 21 rows (the page and the one telling that another
// follows), and the database's own plan agrees: SQLite walks the index
// records_tenant in order with no sort of its own, and PostgreSQL's every
// plan node, measured by EXPLAIN ANALYZE, reads at most those 21 rows. An
// offset, a missing bound or a sort of the whole trail would read
// thousands.
func TestKeysetPageReadsOnlyThePage(t *testing.T) {
	ctx := context.Background()
	const n, limit = 5000, 20
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			fillAudit(t, db, n)
			s := db.Platform(platform.Limits{AuditEventsPerTenant: 2 * n})
			before := db.PageRows()
			page, next, err := s.ListAudit(ctx, "acme", platform.AuditQuery{After: n / 2, Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) != limit || page[0].Seq != n/2+1 || page[0].Tenant != "acme" || next != n/2+limit {
				t.Fatalf("page = %d events from %+v, next %d", len(page), page[0], next)
			}
			if read := db.PageRows() - before; read != limit+1 {
				t.Errorf("the page read %d rows, want %d", read, limit+1)
			}
			plan, err := db.Explain(ctx, sqlstore.SeqPageQuery, "audit", "acme", n/2, limit+1)
			if err != nil {
				t.Fatal(err)
			}
			if db.Postgres() {
				checkPostgresPlan(t, plan, limit+1)
				return
			}
			if !strings.Contains(plan, "USING INDEX records_tenant") || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("SQLite plan does not walk records_tenant in order:\n%s", plan)
			}
		})
	}
}

// TestCasePageReadsOnlyThePage is the same check for the cases connection,
// newest first: its page walks records_tenant backwards. Ties of creation
// time are ordered by id after the index, one group at a time, so the
// database may read one row past the page (PostgreSQL's incremental sort
// reads the next row to close the group).
func TestCasePageReadsOnlyThePage(t *testing.T) {
	ctx := context.Background()
	const n, limit = 5000, 20
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			err := db.FillRecords(ctx, "case", []string{"acme", "globex"}, n, func(tenant string, i int) any {
				return graphql.Case{ID: fmt.Sprint("case_", i), Tenant: tenant, Version: 1, CreatedAt: at.Add(time.Duration(i) * time.Microsecond)}
			})
			if err != nil {
				t.Fatal(err)
			}
			before := db.PageRows()
			page, more, err := db.GraphQL().CasePage(ctx, "acme", graphql.CaseQuery{Limit: limit})
			if err != nil || len(page) != limit || !more || page[0].ID != fmt.Sprint("case_", n) {
				t.Fatalf("first page: %d cases, more %v, %v", len(page), more, err)
			}
			if read := db.PageRows() - before; read != limit+1 {
				t.Errorf("the page read %d rows, want %d", read, limit+1)
			}
			for _, q := range []struct {
				query string
				args  []any
			}{
				{sqlstore.CaseFirstPage, []any{"case", "acme", limit + 1}},
				{sqlstore.CaseNextPage, []any{"case", "acme", n / 2, n / 2, "case_2500", limit + 1}},
			} {
				plan, err := db.Explain(ctx, q.query, q.args...)
				if err != nil {
					t.Fatal(err)
				}
				if db.Postgres() {
					checkPostgresPlan(t, plan, limit+2)
					continue
				}
				if !strings.Contains(plan, "USING INDEX records_tenant") || strings.Contains(plan, "TEMP B-TREE FOR ORDER BY") {
					t.Errorf("SQLite plan does not walk records_tenant in order:\n%s", plan)
				}
			}
		})
	}
}

// checkPostgresPlan fails unless every node of an EXPLAIN (ANALYZE, FORMAT
// JSON) plan read at most rows rows (those it returned and those its
// filter removed) and the plan uses the index records_tenant.
func checkPostgresPlan(t *testing.T, plan string, rows float64) {
	t.Helper()
	checkPostgresPlanOf(t, plan, rows, "records_tenant")
}

// checkPostgresPlanOf is checkPostgresPlan with the index the plan must
// use.
func checkPostgresPlanOf(t *testing.T, plan string, rows float64, index string) {
	t.Helper()
	var doc []struct{ Plan map[string]any }
	if err := json.Unmarshal([]byte(plan), &doc); err != nil || len(doc) != 1 {
		t.Fatalf("plan %q: %v", plan, err)
	}
	var walk func(node map[string]any)
	walk = func(node map[string]any) {
		read, _ := node["Actual Rows"].(float64)
		removed, _ := node["Rows Removed by Filter"].(float64)
		if read+removed > rows {
			t.Errorf("plan node %v %v read %v rows (%v removed by its filter), want at most %v", node["Node Type"], node["Index Name"], read+removed, removed, rows)
		}
		children, _ := node["Plans"].([]any)
		for _, c := range children {
			if m, ok := c.(map[string]any); ok {
				walk(m)
			}
		}
	}
	walk(doc[0].Plan)
	if !strings.Contains(plan, `"`+index+`"`) {
		t.Errorf("PostgreSQL plan does not use %s:\n%s", index, plan)
	}
}

// BenchmarkListPage reads a page of 20 audit events from the middle of a
// tenant's trail with 100 and with 100,000 events (another tenant holding
// as many): keyset paging makes ns/op the same at both sizes. rows/op is
// what the page read from the database. The whole-trail variant reads
// every event, as the handlers did before they paged in the store (then
// cut the page in memory): its cost grows with the trail.
//
//	go test -run '^$' -bench ListPage ./emulator/sqlstore/
func BenchmarkListPage(b *testing.B) {
	ctx := context.Background()
	for _, e := range engines(b) {
		for _, n := range []int{100, 100_000} {
			b.Run(fmt.Sprintf("%s/rows-%d", e.name, n), func(b *testing.B) {
				db := e.open(b)
				fillAudit(b, db, n)
				s := db.Platform(platform.Limits{AuditEventsPerTenant: 2 * n})
				for _, whole := range []bool{false, true} {
					name, limit, after := "page", 20, n/2-10
					if whole {
						name, limit, after = "whole-trail", n, 0
					}
					b.Run(name, func(b *testing.B) {
						rows := db.PageRows()
						for b.Loop() {
							page, _, err := s.ListAudit(ctx, "acme", platform.AuditQuery{After: after, Limit: limit})
							if err != nil || len(page) != limit {
								b.Fatalf("page of %d: %v", len(page), err)
							}
						}
						b.ReportMetric(float64(db.PageRows()-rows)/float64(b.N), "rows/op")
					})
				}
			})
		}
	}
}

// TestCasesStoredBeforeTheirOrderMigrate: cases stored before migration
// 0003 (seq 0) page in their order once it ran, as the index needs.
func TestCasesStoredBeforeTheirOrderMigrate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlstore.OpenAtVersion(ctx, sqlstore.Options{DataDir: dir}, 2)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := db.GraphQL().Reset(ctx, []graphql.Case{{ID: "c1", Tenant: "acme", Version: 1, CreatedAt: at},
		{ID: "c2", Tenant: "acme", Version: 1, CreatedAt: at.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlstore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE records SET seq = 0 WHERE kind = 'case'"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	_ = raw.Close()
	db, err = sqlstore.Open(ctx, sqlstore.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	first, more, err := db.GraphQL().CasePage(ctx, "acme", graphql.CaseQuery{Limit: 1})
	if err != nil || len(first) != 1 || first[0].ID != "c2" || !more {
		t.Fatalf("first page = %+v, %v, %v; want the newer case and more", first, more, err)
	}
	if rest, more, err := db.GraphQL().CasePage(ctx, "acme", graphql.CaseQuery{After: "c2", Limit: 1}); err != nil || len(rest) != 1 || rest[0].ID != "c1" || more {
		t.Errorf("next page = %+v, %v, %v; want the older case, the last", rest, more, err)
	}
}
