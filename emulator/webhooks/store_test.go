package webhooks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// testStore is the shared suite every Store implementation must pass.
func testStore(t *testing.T, newStore func(retention int) Store) {
	ctx := context.Background()
	t.Run("tenant scoping", func(t *testing.T) {
		st := newStore(10)
		w, err := st.CreateWebhook(ctx, Webhook{ID: "wh_1", Tenant: "acme", Events: []string{"case.created"}})
		if err != nil || w.Seq == 0 {
			t.Fatalf("create = %+v, %v", w, err)
		}
		if _, err := st.CreateWebhook(ctx, Webhook{ID: "wh_1", Tenant: "acme"}); !errors.Is(err, ErrConflict) {
			t.Errorf("duplicate create = %v, want ErrConflict", err)
		}
		tests := []struct {
			name    string
			call    func() error
			wantErr error
		}{
			{name: "get own", call: func() error { _, err := st.GetWebhook(ctx, "acme", "wh_1"); return err }},
			{name: "get foreign", call: func() error { _, err := st.GetWebhook(ctx, "globex", "wh_1"); return err }, wantErr: ErrNotFound},
			{name: "update foreign", call: func() error {
				_, err := st.UpdateWebhook(ctx, "globex", "wh_1", func(*Webhook) error { return nil })
				return err
			}, wantErr: ErrNotFound},
			{name: "delete foreign", call: func() error { return st.DeleteWebhook(ctx, "globex", "wh_1") }, wantErr: ErrNotFound},
			{name: "deliveries foreign", call: func() error { _, err := st.ListDeliveries(ctx, "globex", "wh_1", DeliveryFilter{}); return err }, wantErr: ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.call(); !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
					t.Errorf("err = %v, want %v", err, tt.wantErr)
				}
			})
		}
	})
	t.Run("update closure", func(t *testing.T) {
		st := newStore(10)
		_, _ = st.CreateWebhook(ctx, Webhook{ID: "wh_1", Tenant: "acme", URL: "https://a.example"})
		boom := errors.New("boom")
		if _, err := st.UpdateWebhook(ctx, "acme", "wh_1", func(w *Webhook) error { w.URL = "changed"; return boom }); !errors.Is(err, boom) {
			t.Fatalf("update = %v, want boom", err)
		}
		if w, _ := st.GetWebhook(ctx, "acme", "wh_1"); w.URL != "https://a.example" {
			t.Errorf("a failed update changed the URL to %q", w.URL)
		}
		w, _ := st.UpdateWebhook(ctx, "acme", "wh_1", func(w *Webhook) error { w.ID = "other"; w.Disabled = true; return nil })
		if w.ID != "wh_1" || !w.Disabled {
			t.Errorf("update = %+v, want ID kept and Disabled set", w)
		}
	})
	t.Run("retention keeps pending", func(t *testing.T) {
		st := newStore(10)
		_, _ = st.CreateWebhook(ctx, Webhook{ID: "wh_1", Tenant: "acme"})
		for i := range 50 {
			status := StatusSucceeded
			if i%10 == 0 {
				status = StatusPending
			}
			if _, err := st.CreateDelivery(ctx, Delivery{ID: fmt.Sprint("dlv_", i), WebhookID: "wh_1", Tenant: "acme", Status: status, Event: Event{Type: "case.created"}}); err != nil {
				t.Fatal(err)
			}
		}
		all, _ := st.ListDeliveries(ctx, "acme", "wh_1", DeliveryFilter{})
		pend, _ := st.ListDeliveries(ctx, "acme", "wh_1", DeliveryFilter{Status: StatusPending})
		if len(pend) != 5 || len(all)-len(pend) < 10 || len(all)-len(pend) > 11 {
			t.Errorf("kept %d finished and %d pending, want 10-11 and 5", len(all)-len(pend), len(pend))
		}
		if all[0].ID != "dlv_49" || all[0].Seq < all[1].Seq {
			t.Errorf("first listed %s, want the newest (dlv_49)", all[0].ID)
		}
		page, _ := st.ListDeliveries(ctx, "acme", "wh_1", DeliveryFilter{Before: all[2].Seq, Limit: 2})
		if len(page) != 2 || page[0].ID != all[3].ID {
			t.Errorf("page after cursor = %v, want starting at %s", page, all[3].ID)
		}
	})
	t.Run("concurrent updates and reads", func(t *testing.T) {
		st := newStore(10)
		_, _ = st.CreateWebhook(ctx, Webhook{ID: "wh_1", Tenant: "acme"})
		created, err := st.CreateDelivery(ctx, Delivery{ID: "dlv_1", WebhookID: "wh_1", Tenant: "acme", Status: StatusPending})
		if err != nil {
			t.Fatal(err)
		}
		created.Attempts = append(created.Attempts, Attempt{Number: -1}) // a caller's copy
		const writers, each = 4, 25
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					d, err := st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_1", func(d *Delivery) error {
						d.addAttempt(Attempt{Number: d.AttemptCount + 1, Outcome: fmt.Sprint(w, "/", i)})
						d.AttemptCount++
						return nil
					})
					if err != nil {
						t.Error(err)
						return
					}
					d.Attempts[len(d.Attempts)-1].Outcome = "changed by the caller"
				}
			})
			wg.Go(func() {
				for range each {
					d, err := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1")
					if err != nil {
						t.Error(err)
						return
					}
					if len(d.Attempts) > 0 {
						d.Attempts[0].Outcome = "changed by the caller"
					}
					_, _ = st.ListDeliveries(ctx, "acme", "wh_1", DeliveryFilter{})
				}
			})
		}
		wg.Wait()
		d, _ := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1")
		if d.AttemptCount != writers*each || len(d.Attempts) != min(writers*each, MaxAttemptsKept) {
			t.Fatalf("attempt count %d with %d kept, want %d and %d", d.AttemptCount, len(d.Attempts), writers*each, min(writers*each, MaxAttemptsKept))
		}
		for i, a := range d.Attempts {
			if a.Outcome == "changed by the caller" || a.Number != d.AttemptCount-len(d.Attempts)+i+1 {
				t.Fatalf("stored attempt %d = %+v: changed through a returned copy or out of order", i, a)
			}
		}
	})
	t.Run("reset", func(t *testing.T) {
		st := newStore(10)
		_, _ = st.CreateWebhook(ctx, Webhook{ID: "wh_1", Tenant: "acme"})
		if err := st.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		if ws, _ := st.ListWebhooks(ctx, "acme"); len(ws) != 0 {
			t.Errorf("%d webhooks after reset", len(ws))
		}
	})
}

func TestMemoryStore(t *testing.T) {
	testStore(t, func(retention int) Store { return NewMemoryStore(retention, 0) })
	testStoreLimit(t, func(maxPerTenant int) Store { return NewMemoryStore(0, maxPerTenant) })
}

// testStoreLimit is the part of the shared suite about the webhooks-per-
// tenant limit: concurrent creates past it store exactly the limit, the
// rest are refused with a *core.LimitError naming it, tenants count
// separately, and a delete or a reset makes room again.
func testStoreLimit(t *testing.T, newStore func(maxPerTenant int) Store) {
	ctx := context.Background()
	const limit, creates = 3, 3 + 70
	st := newStore(limit)
	errs := make([]error, creates)
	var wg sync.WaitGroup
	for i := range creates {
		wg.Go(func() {
			_, errs[i] = st.CreateWebhook(ctx, Webhook{ID: fmt.Sprint("wh_", i), Tenant: "acme"})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		var le *core.LimitError
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrLimitReached) || !errors.As(err, &le) || le.Max != limit || le.Limit != "webhooks per tenant":
			t.Errorf("refusal = %v, want a LimitError of %d webhooks per tenant", err, limit)
		}
	}
	if list, _ := st.ListWebhooks(ctx, "acme"); ok != limit || len(list) != limit {
		t.Fatalf("%d creates succeeded, %d stored; want %d", ok, len(list), limit)
	}
	if _, err := st.CreateWebhook(ctx, Webhook{ID: "wh_globex", Tenant: "globex"}); err != nil {
		t.Errorf("another tenant refused: %v", err)
	}
	list, _ := st.ListWebhooks(ctx, "acme")
	_ = st.DeleteWebhook(ctx, "acme", list[0].ID)
	if _, err := st.CreateWebhook(ctx, Webhook{ID: "wh_after_delete", Tenant: "acme"}); err != nil {
		t.Errorf("create after a delete: %v", err)
	}
	if _, err := st.CreateWebhook(ctx, Webhook{ID: "wh_past", Tenant: "acme"}); !errors.Is(err, ErrLimitReached) {
		t.Errorf("create past the limit after a delete = %v, want ErrLimitReached", err)
	}
	_ = st.Reset(ctx)
	for i := range limit {
		if _, err := st.CreateWebhook(ctx, Webhook{ID: fmt.Sprint("wh_reset_", i), Tenant: "acme"}); err != nil {
			t.Errorf("create %d after a reset: %v", i, err)
		}
	}
}

// TestMemoryStoreTrim checks the eviction against a plain model (evict
// the oldest finished deliveries, in creation order, once more than 110 %
// of the retention are finished) over a random mix of deliveries created
// pending or finished and pending ones finishing out of order.
func TestMemoryStoreTrim(t *testing.T) {
	ctx := context.Background()
	const retention = 20
	st := NewMemoryStore(retention, 0)
	_, _ = st.CreateWebhook(ctx, Webhook{ID: "wh_1", Tenant: "acme"})
	type entry struct {
		id       string
		finished bool
	}
	var model []entry // by creation
	trimModel := func() {
		finished := 0
		for _, e := range model {
			if e.finished {
				finished++
			}
		}
		if finished <= retention+retention/10 {
			return
		}
		drop := finished - retention
		kept := model[:0]
		for _, e := range model {
			if drop > 0 && e.finished {
				drop--
				continue
			}
			kept = append(kept, e)
		}
		model = kept
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		var pending []int
		for k, e := range model {
			if !e.finished {
				pending = append(pending, k)
			}
		}
		switch op := rng.IntN(10); {
		case op < 4 && len(pending) > 0: // a pending delivery finishes
			k := pending[rng.IntN(len(pending))]
			if _, err := st.UpdateDelivery(ctx, "acme", "wh_1", model[k].id, func(d *Delivery) error { d.Status = StatusSucceeded; return nil }); err != nil {
				t.Fatal(err)
			}
			model[k].finished = true
		default:
			status := StatusPending
			if op < 6 {
				status = StatusFailed
			}
			id := fmt.Sprint("dlv_", i)
			if _, err := st.CreateDelivery(ctx, Delivery{ID: id, WebhookID: "wh_1", Tenant: "acme", Status: status}); err != nil {
				t.Fatal(err)
			}
			model = append(model, entry{id: id, finished: status != StatusPending})
		}
		trimModel()
		all, _ := st.ListDeliveries(ctx, "acme", "wh_1", DeliveryFilter{})
		if len(all) != len(model) {
			t.Fatalf("step %d: store keeps %d deliveries, model %d", i, len(all), len(model))
		}
		for k, d := range all { // newest first
			if e := model[len(model)-1-k]; d.ID != e.id || d.Finished() != e.finished {
				t.Fatalf("step %d: delivery %d is %s (finished %v), model %s (finished %v)", i, k, d.ID, d.Finished(), e.id, e.finished)
			}
			if _, err := st.GetDelivery(ctx, "acme", "wh_1", d.ID); err != nil {
				t.Fatalf("step %d: listed %s but get = %v", i, d.ID, err)
			}
		}
	}
	mw := st.webhooks["wh_1"]
	if len(mw.deliveries) != len(mw.order) {
		t.Errorf("%d deliveries by id, %d in order", len(mw.deliveries), len(mw.order))
	}
}
