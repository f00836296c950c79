package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
	"github.com/knogin/argus-sandbox/internal/racetest"
)

// extra is how many creates past the limit the concurrent check sends.
const extra = 70

// runRetention checks that finished deliveries beyond the retention are
// evicted oldest first, whether created finished or finishing later, while
// pending ones are never evicted. A store may keep up to 10 % more than
// the retention between evictions.
func runRetention(t *testing.T, newStore func(*testing.T, Limits) webhooks.Store) {
	ctx := context.Background()
	const retention = 10
	keptOK := func(n int) bool { return n >= retention && n <= retention+retention/10 }

	t.Run("keeps pending", func(t *testing.T) {
		st := newStore(t, Limits{Retention: retention})
		_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
		for i := range 50 {
			status := webhooks.StatusSucceeded
			if i%10 == 0 {
				status = webhooks.StatusPending
			}
			if _, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: fmt.Sprint("dlv_", i), WebhookID: "wh_1", Tenant: "acme",
				Status: status, Event: webhooks.Event{Type: "case.created"}}); err != nil {
				t.Fatal(err)
			}
		}
		all, _ := st.ListDeliveries(ctx, "acme", "wh_1", webhooks.DeliveryFilter{})
		pend, _ := st.ListDeliveries(ctx, "acme", "wh_1", webhooks.DeliveryFilter{Status: webhooks.StatusPending})
		if len(pend) != 5 || !keptOK(len(all)-len(pend)) {
			t.Fatalf("kept %d finished and %d pending, want 10-11 and 5", len(all)-len(pend), len(pend))
		}
		if all[0].ID != "dlv_49" || all[0].Seq < all[1].Seq {
			t.Errorf("first listed %s, want the newest (dlv_49)", all[0].ID)
		}
		// The finished deliveries kept are the newest (dlv_38 and later:
		// at most 11, with dlv_40 pending among them).
		for _, d := range all {
			var n int
			if _, err := fmt.Sscanf(d.ID, "dlv_%d", &n); err != nil {
				t.Fatal(err)
			}
			if d.Finished() && n < 38 {
				t.Errorf("kept %s, an old finished delivery, over newer ones", d.ID)
			}
		}
		page, _ := st.ListDeliveries(ctx, "acme", "wh_1", webhooks.DeliveryFilter{Before: all[2].Seq, Limit: 2})
		if len(page) != 2 || page[0].ID != all[3].ID {
			t.Errorf("page after cursor = %v, want starting at %s", page, all[3].ID)
		}
	})

	t.Run("finishing later", func(t *testing.T) {
		st := newStore(t, Limits{Retention: retention})
		_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
		const n = 40
		for i := range n {
			_, _ = st.CreateDelivery(ctx, webhooks.Delivery{ID: fmt.Sprint("dlv_", i), WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusPending})
		}
		if all, _ := st.ListDeliveries(ctx, "acme", "wh_1", webhooks.DeliveryFilter{}); len(all) != n {
			t.Fatalf("%d pending deliveries kept, want all %d", len(all), n)
		}
		for i := range n {
			if _, err := st.UpdateDelivery(ctx, "acme", "wh_1", fmt.Sprint("dlv_", i), func(d *webhooks.Delivery) error {
				d.Status = webhooks.StatusFailed
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		all, _ := st.ListDeliveries(ctx, "acme", "wh_1", webhooks.DeliveryFilter{})
		if !keptOK(len(all)) || all[0].ID != fmt.Sprint("dlv_", n-1) {
			t.Errorf("kept %d deliveries, newest %v; want 10-11, the newest dlv_%d", len(all), all, n-1)
		}
		for _, d := range all {
			if _, err := st.GetDelivery(ctx, "acme", "wh_1", d.ID); err != nil {
				t.Errorf("listed %s but get = %v", d.ID, err)
			}
		}
	})

	t.Run("per webhook", func(t *testing.T) {
		st := newStore(t, Limits{Retention: retention})
		_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
		_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_2", Tenant: "acme"})
		for i := range 3 * retention {
			_, _ = st.CreateDelivery(ctx, webhooks.Delivery{ID: fmt.Sprint("dlv_1_", i), WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusSucceeded})
		}
		_, _ = st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_2_0", WebhookID: "wh_2", Tenant: "acme", Status: webhooks.StatusSucceeded})
		if ds, _ := st.ListDeliveries(ctx, "acme", "wh_2", webhooks.DeliveryFilter{}); len(ds) != 1 {
			t.Errorf("another webhook's deliveries evicted: %d kept, want 1", len(ds))
		}
	})

	t.Run("default", func(t *testing.T) {
		st := newStore(t, Limits{})
		_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
		for i := range webhooks.DefaultRetention {
			_, _ = st.CreateDelivery(ctx, webhooks.Delivery{ID: fmt.Sprint("dlv_", i), WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusSucceeded})
		}
		if ds, _ := st.ListDeliveries(ctx, "acme", "wh_1", webhooks.DeliveryFilter{}); len(ds) != webhooks.DefaultRetention {
			t.Errorf("%d of %d finished deliveries kept under the default retention, want all", len(ds), webhooks.DefaultRetention)
		}
	})
}

// runLimit checks the webhooks-per-tenant limit, decided inside the
// write: concurrent creates past it store exactly the limit, the rest are
// refused with a *core.LimitError naming it, tenants count separately,
// and a delete or a reset makes room again. Without a limit given the
// store enforces webhooks.DefaultMaxWebhooksPerTenant.
func runLimit(t *testing.T, newStore func(*testing.T, Limits) webhooks.Store) {
	ctx := context.Background()
	t.Run("concurrent creates", func(t *testing.T) {
		const limit, creates = 3, 3 + extra
		st := newStore(t, Limits{WebhooksPerTenant: limit})
		errs := make([]error, creates)
		racetest.Run(creates, func(i int) {
			_, errs[i] = st.CreateWebhook(ctx, webhooks.Webhook{ID: fmt.Sprint("wh_", i), Tenant: "acme"})
		})
		ok := 0
		for _, err := range errs {
			var le *core.LimitError
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, webhooks.ErrLimitReached) || !errors.As(err, &le) || le.Max != limit || le.Limit != "webhooks per tenant":
				t.Errorf("refusal = %v, want a LimitError of %d webhooks per tenant", err, limit)
			}
		}
		if list, _ := st.ListWebhooks(ctx, "acme"); ok != limit || len(list) != limit {
			t.Fatalf("%d creates succeeded, %d stored; want %d", ok, len(list), limit)
		}
		if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_globex", Tenant: "globex"}); err != nil {
			t.Errorf("another tenant refused: %v", err)
		}
		list, _ := st.ListWebhooks(ctx, "acme")
		if err := st.DeleteWebhook(ctx, "acme", list[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_after_delete", Tenant: "acme"}); err != nil {
			t.Errorf("create after a delete: %v", err)
		}
		if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_past", Tenant: "acme"}); !errors.Is(err, webhooks.ErrLimitReached) {
			t.Errorf("create past the limit after a delete = %v, want ErrLimitReached", err)
		}
		if err := st.Reset(ctx); err != nil {
			t.Fatal(err)
		}
		for i := range limit {
			if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: fmt.Sprint("wh_reset_", i), Tenant: "acme"}); err != nil {
				t.Errorf("create %d after a reset: %v", i, err)
			}
		}
	})
	t.Run("default", func(t *testing.T) {
		st := newStore(t, Limits{})
		for i := range webhooks.DefaultMaxWebhooksPerTenant {
			if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: fmt.Sprint("wh_", i), Tenant: "acme"}); err != nil {
				t.Fatalf("create %d under the default limit: %v", i, err)
			}
		}
		if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_past", Tenant: "acme"}); !errors.Is(err, webhooks.ErrLimitReached) {
			t.Errorf("create past the default limit = %v, want ErrLimitReached", err)
		}
	})
}
