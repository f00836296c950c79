package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// TestConcurrentUpdatesKeepTheirOutcomes runs many UpdateDelivery calls
// at once, which share transactions: a closure that fails, or a delivery
// that is missing, fails its own call only, and every other call's change
// is stored and returned.
func TestConcurrentUpdatesKeepTheirOutcomes(t *testing.T) {
	errRefused := errors.New("refused")
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			st := webhookStore(t, e.open(t))
			const n = 96
			for i := range n {
				if _, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: fmt.Sprint("dlv_", i), WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusPending}); err != nil {
					t.Fatal(err)
				}
			}
			errs := make([]error, n+1)
			outs := make([]webhooks.Delivery, n+1)
			var wg sync.WaitGroup
			for i := range n + 1 { // dlv_96 does not exist
				wg.Go(func() {
					outs[i], errs[i] = st.UpdateDelivery(ctx, "acme", "wh_1", fmt.Sprint("dlv_", i), func(d *webhooks.Delivery) error {
						if i%3 == 0 {
							d.Status = webhooks.StatusFailed // not stored
							return errRefused
						}
						d.Status, d.AttemptCount = webhooks.StatusSucceeded, i
						return nil
					})
				})
			}
			wg.Wait()
			if !errors.Is(errs[n], webhooks.ErrNotFound) {
				t.Errorf("update of a missing delivery = %v, want ErrNotFound", errs[n])
			}
			for i := range n {
				got, err := st.GetDelivery(ctx, "acme", "wh_1", fmt.Sprint("dlv_", i))
				if err != nil {
					t.Fatal(err)
				}
				if i%3 == 0 {
					if !errors.Is(errs[i], errRefused) || got.Status != webhooks.StatusPending {
						t.Errorf("dlv_%d: refused update returned %v and left %s, want errRefused and pending", i, errs[i], got.Status)
					}
					continue
				}
				if errs[i] != nil || outs[i].AttemptCount != i || got.Status != webhooks.StatusSucceeded || got.AttemptCount != i {
					t.Errorf("dlv_%d: update returned %v (attempts %d), stored %s with %d attempts; want nil, succeeded, %d",
						i, errs[i], outs[i].AttemptCount, got.Status, got.AttemptCount, i)
				}
			}
		})
	}
}

// TestConcurrentWebhookReadsKeepTheirAnswers runs many GetWebhook calls at
// once, which share reads: each gets its own webhook, another tenant's or
// a missing one is ErrNotFound to that call only, and a change made
// before a call is seen by it.
func TestConcurrentWebhookReadsKeepTheirAnswers(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db := e.open(t)
			st := db.Webhooks(0, 0)
			for i := range 3 {
				if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: fmt.Sprint("wh_", i), Tenant: "acme", URL: fmt.Sprint("https://example.com/", i), Events: []string{"case.created"}}); err != nil {
					t.Fatal(err)
				}
			}
			const n = 120
			for round := range 3 {
				if _, err := st.UpdateWebhook(ctx, "acme", "wh_0", func(w *webhooks.Webhook) error {
					w.Description = fmt.Sprint("round ", round)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						tenant, id := "acme", fmt.Sprint("wh_", i%4) // wh_3 does not exist
						if i%5 == 0 {
							tenant = "globex"
						}
						w, err := st.GetWebhook(ctx, tenant, id)
						switch {
						case tenant == "globex" || id == "wh_3":
							if !errors.Is(err, webhooks.ErrNotFound) {
								t.Errorf("GetWebhook(%s, %s) = %v, want ErrNotFound", tenant, id, err)
							}
						case err != nil || w.ID != id || w.URL != "https://example.com/"+id[3:] || len(w.Events) != 1:
							t.Errorf("GetWebhook(%s, %s) = %+v, %v", tenant, id, w, err)
						case id == "wh_0" && w.Description != fmt.Sprint("round ", round):
							t.Errorf("round %d: wh_0 reads back %q, written before the read", round, w.Description)
						}
					})
				}
				wg.Wait()
			}
		})
	}
}

// TestUpdateRunsAgainAfterAConcurrentWrite: on PostgreSQL, where an
// update batch reads and writes without a transaction, a write that lands
// between an update's read and its write (here a heartbeat, made from
// inside the closure's first run) is not lost: the update sees the row
// changed, runs its closure again on what is stored now, and stores both
// changes. (SQLite's batches run in its exclusive write transaction, where
// no other write can land.)
func TestUpdateRunsAgainAfterAConcurrentWrite(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, e := range engines(t)[1:] { // postgres
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			st := webhookStore(t, e.open(t))
			if _, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_1", WebhookID: "wh_1", Tenant: "acme",
				Status: webhooks.StatusPending, LeaseOwner: "a", LeaseUntil: t0}); err != nil {
				t.Fatal(err)
			}
			renewed := t0.Add(time.Minute)
			runs := 0
			got, err := st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_1", func(d *webhooks.Delivery) error {
				runs++
				if runs == 1 {
					if n, err := st.ExtendLeases(ctx, "a", renewed); err != nil || n != 1 {
						t.Errorf("heartbeat = %d, %v", n, err)
					}
				}
				d.AttemptCount++
				return nil
			})
			if err != nil || runs != 2 || got.AttemptCount != 1 || !got.LeaseUntil.Equal(renewed) {
				t.Errorf("update = %+v, %v after %d runs; want the closure run again on the renewed lease", got, err, runs)
			}
			stored, err := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1")
			if err != nil || stored.AttemptCount != 1 || stored.LeaseOwner != "a" || !stored.LeaseUntil.Equal(renewed) {
				t.Errorf("stored %d attempts, lease %q until %s (%v); want 1 attempt and a's renewed lease until %s",
					stored.AttemptCount, stored.LeaseOwner, stored.LeaseUntil, err, renewed)
			}
		})
	}
}

// TestTransactionsRunPreparedFromTheSecondOn: the statements a write
// transaction met unprepared are prepared once it ends, so the next
// transaction of the same shape prepares nothing more and the cache stops
// growing.
func TestTransactionsRunPreparedFromTheSecondOn(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db := e.open(t)
			st := webhookStore(t, db)
			if _, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_1", WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusPending}); err != nil {
				t.Fatal(err)
			}
			update := func() {
				t.Helper()
				if _, err := st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_1", func(d *webhooks.Delivery) error {
					d.AttemptCount++
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
			update()
			first := db.StatementsPrepared()
			update()
			update()
			if n := db.StatementsPrepared(); n != first {
				t.Errorf("%d statements prepared after the first update, %d after two more: the same statements were prepared again", first, n)
			}
			before := db.StatementsPrepared()
			// A fresh store's first update of a webhook runs statements its
			// transactions had not met; they are prepared after it.
			if _, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_2", WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusSucceeded}); err != nil {
				t.Fatal(err)
			}
			if db.StatementsPrepared() <= before {
				t.Errorf("a transaction's new statements were not prepared after it (%d statements before, %d after)", before, db.StatementsPrepared())
			}
		})
	}
}
