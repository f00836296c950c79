package webhooks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

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
