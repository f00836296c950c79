package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// TestPostgresAnalyzesTheOutboxAsItGrows: a burst of deliveries into a
// fresh database has the store analyze the records table itself (the
// plans chosen for a nearly empty table read delivery batches through the
// wrong index, and autovacuum waits up to a minute); SQLite keeps no such
// statistics and is never analyzed.
func TestPostgresAnalyzesTheOutboxAsItGrows(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db := e.open(t)
			st := webhookStore(t, db)
			for b := range 6 {
				ds := make([]webhooks.Delivery, 500)
				for i := range ds {
					ds[i] = webhooks.Delivery{ID: fmt.Sprintf("dlv_%d_%d", b, i), WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusPending}
				}
				if _, err := st.CreateDeliveries(ctx, ds); err != nil {
					t.Fatal(err)
				}
			}
			if !db.Postgres() {
				if n := db.AnalyzeRuns(); n != 0 {
					t.Errorf("SQLite: %d analyses, want none", n)
				}
				return
			}
			deadline := time.Now().Add(30 * time.Second)
			for db.AnalyzeRuns() == 0 && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if db.AnalyzeRuns() == 0 {
				t.Fatal("3,000 deliveries stored and the table never analyzed")
			}
			var tuples float64
			if err := db.QueryRowRaw(ctx, "SELECT reltuples FROM pg_class WHERE oid = CAST('records' AS regclass)", &tuples); err != nil {
				t.Fatal(err)
			}
			if tuples < 1000 {
				t.Errorf("the statistics count %v rows after 3,000 deliveries were stored", tuples)
			}
		})
	}
}
