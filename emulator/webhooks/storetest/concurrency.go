package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
	"github.com/knogin/argus-sandbox/internal/racetest"
)

// writers is how many goroutines race in each concurrent case.
const writers = racetest.Writers

var errDecided = errors.New("already decided")

// runConcurrency races creations, read-modify-write updates and reads:
// one creation of an ID wins, no update is lost, a decision taken inside
// an update is taken once, and what a caller does to a returned copy
// never reaches the store.
func runConcurrency(t *testing.T, newStore func(*testing.T, Limits) webhooks.Store) {
	ctx := context.Background()
	t.Run("one creation wins", func(t *testing.T) {
		st := newStore(t, Limits{})
		var created atomic.Int32
		racetest.Run(writers, func(int) {
			switch _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"}); {
			case err == nil:
				created.Add(1)
			case !errors.Is(err, webhooks.ErrConflict):
				t.Error(err)
			}
		})
		if n := created.Load(); n != 1 {
			t.Fatalf("%d creations of one webhook succeeded, want 1", n)
		}
		created.Store(0)
		racetest.Run(writers, func(int) {
			switch _, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_1", WebhookID: "wh_1", Tenant: "acme"}); {
			case err == nil:
				created.Add(1)
			case !errors.Is(err, webhooks.ErrConflict):
				t.Error(err)
			}
		})
		if n := created.Load(); n != 1 {
			t.Errorf("%d creations of one delivery succeeded, want 1", n)
		}
	})

	t.Run("distinct deliveries", func(t *testing.T) {
		st := newStore(t, Limits{})
		_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
		racetest.Run(writers, func(i int) {
			if _, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: fmt.Sprint("dlv_", i), WebhookID: "wh_1", Tenant: "acme",
				Status: webhooks.StatusPending}); err != nil {
				t.Error(err)
			}
		})
		all, _ := st.ListDeliveries(ctx, "acme", "wh_1", webhooks.DeliveryFilter{})
		seqs := map[uint64]bool{}
		for i, d := range all {
			seqs[d.Seq] = true
			if i > 0 && d.Seq >= all[i-1].Seq {
				t.Errorf("deliveries not listed newest first: Seq %d after %d", d.Seq, all[i-1].Seq)
			}
		}
		if len(all) != writers || len(seqs) != writers {
			t.Errorf("%d deliveries with %d distinct Seq after %d concurrent creates", len(all), len(seqs), writers)
		}
	})

	t.Run("updates and reads", func(t *testing.T) {
		st := newStore(t, Limits{Retention: 10})
		_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
		created, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_1", WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusPending})
		if err != nil {
			t.Fatal(err)
		}
		created.Attempts = append(created.Attempts, webhooks.Attempt{Number: -1}) // a caller's copy
		// Twice as many attempts as are kept, so the closures trim too.
		const each = 2 * webhooks.MaxAttemptsKept / writers
		racetest.Run(2*writers, func(i int) {
			if i%2 == 1 {
				for range each {
					d, err := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1")
					if err != nil {
						t.Error(err)
						return
					}
					if len(d.Attempts) > 0 {
						d.Attempts[0].Outcome = "changed by the caller"
					}
					ds, _ := st.ListDeliveries(ctx, "acme", "wh_1", webhooks.DeliveryFilter{})
					if len(ds) > 0 && len(ds[0].Attempts) > 0 {
						ds[0].Attempts[0].Outcome = "changed by the caller"
					}
				}
				return
			}
			for k := range each {
				d, err := st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_1", func(d *webhooks.Delivery) error {
					d.AttemptCount++
					d.Attempts = append(d.Attempts, webhooks.Attempt{Number: d.AttemptCount, Outcome: fmt.Sprint(i, "/", k)})
					if n := len(d.Attempts) - webhooks.MaxAttemptsKept; n > 0 {
						d.Attempts = d.Attempts[n:]
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
				d.Attempts[len(d.Attempts)-1].Outcome = "changed by the caller"
			}
		})
		d, _ := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1")
		total := writers * each
		if d.AttemptCount != total || len(d.Attempts) != min(total, webhooks.MaxAttemptsKept) {
			t.Fatalf("attempt count %d with %d kept, want %d and %d", d.AttemptCount, len(d.Attempts), total, min(total, webhooks.MaxAttemptsKept))
		}
		for i, a := range d.Attempts {
			if a.Outcome == "changed by the caller" || a.Number != d.AttemptCount-len(d.Attempts)+i+1 {
				t.Fatalf("stored attempt %d = %+v: changed through a returned copy or out of order", i, a)
			}
		}
	})

	t.Run("decided once", func(t *testing.T) {
		st := newStore(t, Limits{})
		_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
		_, _ = st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_1", WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusPending})
		var decided atomic.Int32
		racetest.Run(writers, func(i int) {
			_, err := st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_1", func(d *webhooks.Delivery) error {
				if d.Status != webhooks.StatusPending {
					return errDecided
				}
				d.Status = webhooks.StatusSucceeded
				return nil
			})
			switch {
			case err == nil:
				decided.Add(1)
			case !errors.Is(err, errDecided):
				t.Error(err)
			}
		})
		if n := decided.Load(); n != 1 {
			t.Errorf("a delivery was finished %d times, want once", n)
		}
		var disabled atomic.Int32
		racetest.Run(writers, func(int) {
			_, err := st.UpdateWebhook(ctx, "acme", "wh_1", func(w *webhooks.Webhook) error {
				if w.Disabled {
					return errDecided
				}
				w.Disabled = true
				return nil
			})
			switch {
			case err == nil:
				disabled.Add(1)
			case !errors.Is(err, errDecided):
				t.Error(err)
			}
		})
		if n := disabled.Load(); n != 1 {
			t.Errorf("a webhook was disabled %d times, want once", n)
		}
	})
}
