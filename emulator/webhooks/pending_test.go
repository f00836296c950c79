package webhooks

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// widestList records the longest list ListDeliveries returned.
type widestList struct {
	Store
	widest int
}

func (w *widestList) ListDeliveries(ctx context.Context, tenant, webhookID string, f DeliveryFilter) ([]Delivery, error) {
	ds, err := w.Store.ListDeliveries(ctx, tenant, webhookID, f)
	w.widest = max(w.widest, len(ds))
	return ds, err
}

// TestDisablingFailsPendingDeliveriesPageByPage: disabling an endpoint
// with more pending deliveries than a page fails every one of them,
// reading them a page at a time (pending deliveries are never evicted, so
// an endpoint down for days may hold many).
func TestDisablingFailsPendingDeliveriesPageByPage(t *testing.T) {
	store := &widestList{Store: NewMemoryStore(0, 0)}
	s, clock := newTestService(t, func(c *Config) { c.Store = store })
	ctx := context.Background()
	w := subscribe(t, s, "acme", "https://hooks.example/pending", "case.updated")
	const n = 2*pendingPage + 7
	ds := make([]Delivery, n)
	for i := range ds {
		ds[i] = Delivery{ID: fmt.Sprint("dlv_", i), WebhookID: w.ID, Tenant: "acme", Status: StatusPending,
			Event: Event{ID: fmt.Sprint("evt_", i), Type: "case.updated"}, NextAttemptAt: clock.Now().Add(100 * 24 * time.Hour)}
	}
	if _, err := store.CreateDeliveries(ctx, ds); err != nil {
		t.Fatal(err)
	}
	off := false
	if _, err := s.Update(ctx, "acme", w.ID, WebhookChange{Enabled: &off}); err != nil {
		t.Fatal(err)
	}
	if left, _ := store.Store.ListDeliveries(ctx, "acme", w.ID, DeliveryFilter{Status: StatusPending}); len(left) != 0 {
		t.Errorf("%d deliveries still pending after disabling, want none", len(left))
	}
	if failed, _ := store.Store.ListDeliveries(ctx, "acme", w.ID, DeliveryFilter{Status: StatusFailed}); len(failed) != n {
		t.Errorf("%d deliveries failed, want %d", len(failed), n)
	}
	if store.widest > pendingPage {
		t.Errorf("a read returned %d deliveries, more than a page (%d)", store.widest, pendingPage)
	}
}
