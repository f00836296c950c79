package storetest

import (
	"context"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// testDeleteTenant: DeleteTenant removes one tenant's webhooks and
// deliveries, frees its webhook count, and leaves another tenant's alone.
func testDeleteTenant(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	for _, w := range []webhooks.Webhook{{ID: "wh_1", Tenant: "acme"}, {ID: "wh_2", Tenant: "globex"}} {
		if _, err := st.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []webhooks.Delivery{
		{ID: "dlv_1", WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusPending},
		{ID: "dlv_2", WebhookID: "wh_2", Tenant: "globex", Status: webhooks.StatusPending},
	} {
		if _, err := st.CreateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DeleteTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if ws, _ := st.ListWebhooks(ctx, "acme"); len(ws) != 0 {
		t.Errorf("%d webhooks of the deleted tenant remain", len(ws))
	}
	_, err := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1")
	checkErr(t, "the deleted tenant's delivery", err, webhooks.ErrNotFound)
	if ws, _ := st.ListWebhooks(ctx, "globex"); len(ws) != 1 {
		t.Errorf("the other tenant has %d webhooks, want 1", len(ws))
	}
	if _, err := st.GetDelivery(ctx, "globex", "wh_2", "dlv_2"); err != nil {
		t.Errorf("the other tenant's delivery: %v", err)
	}
	if err := st.DeleteTenant(ctx, "nobody"); err != nil {
		t.Errorf("DeleteTenant of a tenant with nothing: %v", err)
	}
}

// runDeleteTenantLimit: a deleted tenant's webhooks no longer count
// against its limit.
func runDeleteTenantLimit(t *testing.T, newStore func(t *testing.T, limits Limits) webhooks.Store) {
	ctx := context.Background()
	st := newStore(t, Limits{WebhooksPerTenant: 1})
	if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_3", Tenant: "acme"}); err != nil {
		t.Errorf("a webhook after the tenant was deleted: %v", err)
	}
}
