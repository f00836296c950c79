package sqlstore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/sqlstore"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// TestLeasesSurviveTheLeaseColumnMigration: a database at schema 2 (the
// lease in each delivery's JSON document, its lease-until in num, as the
// previous version wrote them) keeps its leases through the migration to
// the lease_owner column: a delivery leased before reads back leased, is
// not claimed while the lease holds, is renewed by its owner's heartbeat,
// and is claimed once it lapses; a free one is claimed at once.
func TestLeasesSurviveTheLeaseColumnMigration(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	until := t0.Add(30 * time.Second)
	for _, tt := range migrationEngines() {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o(t)
			old := openOldWithWebhook(t, o, 2, webhooks.Webhook{})
			for i, d := range []webhooks.Delivery{
				{ID: "dlv_held", LeaseOwner: "old-owner", LeaseUntil: until},
				{ID: "dlv_free"},
			} {
				d.WebhookID, d.Tenant, d.Status, d.NextAttemptAt, d.Seq = "wh_1", "acme", webhooks.StatusPending, t0, uint64(i+1)
				d.Event = webhooks.Event{ID: "evt_" + d.ID, Type: "case.created"}
				doc, _ := json.Marshal(d)
				num := int64(0)
				if d.LeaseOwner != "" {
					num = d.LeaseUntil.UnixMicro()
				}
				if err := old.ExecRaw(ctx, `INSERT INTO records (kind, parent, id, tenant, seq, status, k1, k2, at, num, doc)
					VALUES ('delivery', 'wh_1', ?, 'acme', ?, 'pending', 'case.created', ?, ?, ?, ?)`,
					d.ID, d.Seq, d.Event.ID, d.NextAttemptAt.UnixMicro(), num, string(doc)); err != nil {
					t.Fatal(err)
				}
			}
			_ = old.Close()

			db, err := sqlstore.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			st := db.Webhooks(0, 0)
			got, err := st.GetDelivery(ctx, "acme", "wh_1", "dlv_held")
			if err != nil || got.LeaseOwner != "old-owner" || !got.LeaseUntil.Equal(until) {
				t.Fatalf("after migrating, the leased delivery reads back leased by %q until %s (%v); want old-owner until %s",
					got.LeaseOwner, got.LeaseUntil, err, until)
			}
			claim := func(now time.Time) []string {
				ds, err := st.ClaimDue(ctx, webhooks.Claim{Owner: "new-owner", Due: t0, Now: now, Lease: time.Hour, Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				ids := []string{}
				for _, d := range ds {
					ids = append(ids, d.ID)
				}
				return ids
			}
			if ids := claim(t0); len(ids) != 1 || ids[0] != "dlv_free" {
				t.Errorf("claim while the old lease holds = %v, want only dlv_free", ids)
			}
			if n, err := st.ExtendLeases(ctx, "old-owner", until.Add(time.Minute)); err != nil || n != 1 {
				t.Errorf("the old owner's heartbeat renewed %d (%v), want 1", n, err)
			}
			if ids := claim(until); len(ids) != 0 {
				t.Errorf("claim once the old lease would have lapsed, had it not been renewed = %v, want none", ids)
			}
			if ids := claim(until.Add(time.Minute)); len(ids) != 1 || ids[0] != "dlv_held" {
				t.Errorf("claim once the renewed lease lapsed = %v, want dlv_held", ids)
			}
		})
	}
}
