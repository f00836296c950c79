package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/sqlstore"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
	"github.com/knogin/argus-sandbox/emulator/webhooks/storetest"
)

func TestWebhooksStore(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, l storetest.Limits) webhooks.Store {
				return e.open(t).Webhooks(l.Retention, l.WebhooksPerTenant)
			})
		})
	}
}

// TestFinishedCountReadsOnlyTheFinished checks what the retention's count
// of a webhook's finished deliveries costs: with 4,000 deliveries pending
// behind 100 finished ones (a burst the engine has not sent yet), it reads
// the finished ones alone. SQLite seeks each finished status in
// records_parent_status; every node of PostgreSQL's plan reads at most
// those 100 rows. A condition of status <> 'pending' would walk the
// pending ones too, on every count of a busy webhook.
func TestFinishedCountReadsOnlyTheFinished(t *testing.T) {
	ctx := context.Background()
	const pending, finished = 4000, 100
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			err := db.FillRecords(ctx, "delivery", []string{"acme"}, pending+finished, func(_ string, i int) any {
				return webhooks.Delivery{ID: fmt.Sprint("dlv_", i)}
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.ExecRaw(ctx, "UPDATE records SET parent = 'wh_1', status = CASE WHEN seq <= ? THEN 'succeeded' ELSE 'pending' END WHERE kind = 'delivery'", finished); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRowRaw(ctx, strings.NewReplacer("kind = ?", "kind = 'delivery'", "parent = ?", "parent = 'wh_1'").Replace(sqlstore.FinishedCountQuery), &n); err != nil || n != finished {
				t.Fatalf("count = %d, %v; want %d", n, err, finished)
			}
			plan, err := db.Explain(ctx, sqlstore.FinishedCountQuery, "delivery", "wh_1")
			if err != nil {
				t.Fatal(err)
			}
			if db.Postgres() {
				checkPostgresPlanOf(t, plan, finished, "records_parent_status")
				return
			}
			if !strings.Contains(plan, "records_parent_status (kind=? AND parent=? AND status=?)") {
				t.Errorf("SQLite plan does not seek the finished statuses in records_parent_status:\n%s", plan)
			}
		})
	}
}

// TestBatchReadSeeksItsRows checks what a full update batch's read of its
// 64 deliveries costs with 4,000 stored: each key is a seek in the
// primary key, the keys the outer loop. SQLite, without statistics,
// walked every delivery in key order and looked each up among the keys
// when the keys were joined as an inner join; PostgreSQL's every plan
// node reads at most a key's row a loop.
func TestBatchReadSeeksItsRows(t *testing.T) {
	ctx := context.Background()
	const n, keys = 4000, 64
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			err := db.FillRecords(ctx, "delivery", []string{"acme"}, n, func(_ string, i int) any {
				return webhooks.Delivery{ID: fmt.Sprint("dlv_", i)}
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.ExecRaw(ctx, "UPDATE records SET parent = 'wh_' || CAST(seq % 4 AS TEXT) WHERE kind = 'delivery'"); err != nil {
				t.Fatal(err)
			}
			var args []any
			for i := range keys {
				args = append(args, fmt.Sprint("wh_", (i*7)%4), fmt.Sprintf("delivery_acme_%d", i*7))
			}
			args = append(args, "delivery")
			plan, err := db.Explain(ctx, sqlstore.ReadBatchQuery(keys), args...)
			if err != nil {
				t.Fatal(err)
			}
			if db.Postgres() {
				checkPostgresPlanOf(t, plan, keys, "records_pkey")
				return
			}
			if !strings.Contains(plan, "(kind=? AND parent=? AND id=?)") {
				t.Errorf("SQLite plan does not seek each key:\n%s", plan)
			}
		})
	}
}
