package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/sqlstore"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// TestOutstandingReadsTheDueIndex checks what an idle wait's question to
// the store costs while it polls: with 2,000 finished deliveries and 200
// pending ones not due yet, both forms (every tenant's, one tenant's) read
// the one due delivery from the partial index records_due and stop there.
// SQLite's plan searches records_due; every node of PostgreSQL's plan,
// measured by EXPLAIN ANALYZE, reads at most one row.
func TestOutstandingReadsTheDueIndex(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			st := db.Webhooks(5000, 0)
			var ds []webhooks.Delivery
			for _, tenant := range []string{"acme", "globex"} {
				wh := "wh_" + tenant
				if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: wh, Tenant: tenant}); err != nil {
					t.Fatal(err)
				}
				for i := range 1100 {
					d := webhooks.Delivery{ID: fmt.Sprintf("dlv_%s_%d", tenant, i), WebhookID: wh, Tenant: tenant,
						Status: webhooks.StatusSucceeded, NextAttemptAt: now.Add(-time.Hour), CreatedAt: now, UpdatedAt: now}
					if i >= 1000 {
						d.Status, d.NextAttemptAt = webhooks.StatusPending, now.Add(time.Duration(i)*time.Second)
					}
					ds = append(ds, d)
				}
			}
			ds = append(ds, webhooks.Delivery{ID: "dlv_due", WebhookID: "wh_acme", Tenant: "acme",
				Status: webhooks.StatusPending, NextAttemptAt: now, LeaseOwner: "b", LeaseUntil: now.Add(time.Minute)})
			if _, err := st.CreateDeliveries(ctx, ds); err != nil {
				t.Fatal(err)
			}
			for _, o := range []webhooks.Outstanding{{Due: now, Except: "a"}, {Tenant: "acme", Due: now, Except: "a"}} {
				if got, err := st.Outstanding(ctx, o); err != nil || !got {
					t.Fatalf("Outstanding(%+v) = %v, %v; want true", o, got, err)
				}
			}
			micros := now.UnixMicro()
			for _, q := range []struct {
				query string
				args  []any
			}{
				{sqlstore.OutstandingQuery, []any{"delivery", micros, "a"}},
				{sqlstore.OutstandingTenantQuery, []any{"delivery", micros, "a", "acme"}},
			} {
				plan, err := db.Explain(ctx, q.query, q.args...)
				if err != nil {
					t.Fatal(err)
				}
				if db.Postgres() {
					checkPostgresPlanOf(t, plan, 1, "records_due")
					continue
				}
				if !strings.Contains(plan, "records_due") {
					t.Errorf("SQLite plan does not search records_due:\n%s", plan)
				}
			}
		})
	}
}
