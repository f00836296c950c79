// Package storetest is the conformance suite every webhooks.Store
// implementation passes: the in-memory default does, and a durable backend
// is done when it does too.
package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// Limits are the bounds a store under test is made with; a zero field
// means the store's default.
type Limits struct {
	// Retention is how many finished deliveries are kept per webhook
	// (webhooks.DefaultRetention when zero).
	Retention int
	// WebhooksPerTenant is the most webhooks one tenant may have
	// (webhooks.DefaultMaxWebhooksPerTenant when zero).
	WebhooksPerTenant int
}

// Run runs the suite against stores made by newStore, which returns a new,
// empty store for each subtest (t is that subtest's, for its cleanup)
// enforcing the limits it is given. Run it with -race: some cases have
// concurrent writers.
func Run(t *testing.T, newStore func(t *testing.T, limits Limits) webhooks.Store) {
	t.Run("tenant scoping", func(t *testing.T) { testTenantScoping(t, newStore(t, Limits{Retention: 10})) })
	t.Run("webhooks", func(t *testing.T) { testWebhooks(t, newStore(t, Limits{Retention: 10})) })
	t.Run("update closure", func(t *testing.T) { testUpdateWebhook(t, newStore(t, Limits{Retention: 10})) })
	t.Run("deliveries", func(t *testing.T) { testDeliveries(t, newStore(t, Limits{Retention: 10})) })
	t.Run("delivery filters", func(t *testing.T) { testDeliveryFilters(t, newStore(t, Limits{})) })
	t.Run("reset", func(t *testing.T) { testReset(t, newStore(t, Limits{Retention: 10})) })
	t.Run("delete tenant", func(t *testing.T) { testDeleteTenant(t, newStore(t, Limits{Retention: 10})) })
	t.Run("delete tenant frees its limit", func(t *testing.T) { runDeleteTenantLimit(t, newStore) })
	t.Run("retention", func(t *testing.T) { runRetention(t, newStore) })
	t.Run("limit", func(t *testing.T) { runLimit(t, newStore) })
	t.Run("concurrency", func(t *testing.T) { runConcurrency(t, newStore) })
	t.Run("claims", func(t *testing.T) { runClaims(t, newStore) })
}

// checkErr reports err unless it is (errors.Is) want, or nil when want is.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if (err == nil) != (want == nil) || !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

// testTenantScoping: a record of another tenant is ErrNotFound to every
// method, and one tenant's list never shows another's records.
func testTenantScoping(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	w, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme", Events: []string{"case.created"}})
	if err != nil || w.Seq == 0 {
		t.Fatalf("create = %+v, %v", w, err)
	}
	if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"}); !errors.Is(err, webhooks.ErrConflict) {
		t.Errorf("duplicate create = %v, want ErrConflict", err)
	}
	if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "globex"}); !errors.Is(err, webhooks.ErrConflict) {
		t.Errorf("another tenant's create with the same ID = %v, want ErrConflict", err)
	}
	if _, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_1", WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusPending}); err != nil {
		t.Fatal(err)
	}
	noop := func(*webhooks.Webhook) error { return nil }
	noopD := func(*webhooks.Delivery) error { return nil }
	tests := []struct {
		name    string
		call    func() error
		wantErr error
	}{
		{name: "get own", call: func() error { _, err := st.GetWebhook(ctx, "acme", "wh_1"); return err }},
		{name: "get foreign", call: func() error { _, err := st.GetWebhook(ctx, "globex", "wh_1"); return err }, wantErr: webhooks.ErrNotFound},
		{name: "update foreign", call: func() error { _, err := st.UpdateWebhook(ctx, "globex", "wh_1", noop); return err }, wantErr: webhooks.ErrNotFound},
		{name: "delete foreign", call: func() error { return st.DeleteWebhook(ctx, "globex", "wh_1") }, wantErr: webhooks.ErrNotFound},
		{name: "deliveries own", call: func() error { _, err := st.ListDeliveries(ctx, "acme", "wh_1", webhooks.DeliveryFilter{}); return err }},
		{name: "deliveries foreign", call: func() error {
			_, err := st.ListDeliveries(ctx, "globex", "wh_1", webhooks.DeliveryFilter{})
			return err
		}, wantErr: webhooks.ErrNotFound},
		{name: "get delivery own", call: func() error { _, err := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1"); return err }},
		{name: "get delivery foreign", call: func() error { _, err := st.GetDelivery(ctx, "globex", "wh_1", "dlv_1"); return err }, wantErr: webhooks.ErrNotFound},
		{name: "update delivery foreign", call: func() error {
			_, err := st.UpdateDelivery(ctx, "globex", "wh_1", "dlv_1", noopD)
			return err
		}, wantErr: webhooks.ErrNotFound},
		{name: "create delivery under a foreign webhook", call: func() error {
			_, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_2", WebhookID: "wh_1", Tenant: "globex"})
			return err
		}, wantErr: webhooks.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkErr(t, tt.name, tt.call(), tt.wantErr) })
	}
	if list, err := st.ListWebhooks(ctx, "globex"); err != nil || len(list) != 0 {
		t.Errorf("ListWebhooks of another tenant = %+v, %v; want none", list, err)
	}
	if w, err := st.GetWebhook(ctx, "acme", "wh_1"); err != nil || w.Tenant != "acme" {
		t.Errorf("the foreign calls changed the webhook: %+v, %v", w, err)
	}
	if ds, _ := st.ListDeliveries(ctx, "acme", "wh_1", webhooks.DeliveryFilter{}); len(ds) != 1 {
		t.Errorf("%d deliveries after a foreign create, want 1", len(ds))
	}
}

// testWebhooks: webhooks are listed oldest first, returned copies are not
// aliases of the stored ones, and a delete takes the deliveries with it.
func testWebhooks(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	for _, id := range []string{"wh_b", "wh_a", "wh_c"} {
		if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: id, Tenant: "acme", Events: []string{"case.created"}}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := st.ListWebhooks(ctx, "acme")
	if err != nil || len(list) != 3 || list[0].ID != "wh_b" || list[1].ID != "wh_a" || list[2].ID != "wh_c" {
		t.Fatalf("ListWebhooks = %+v, %v; want wh_b, wh_a, wh_c (creation order)", list, err)
	}
	if !(list[0].Seq < list[1].Seq && list[1].Seq < list[2].Seq) {
		t.Errorf("Seq not increasing with creation: %d, %d, %d", list[0].Seq, list[1].Seq, list[2].Seq)
	}
	list[0].Events[0] = "changed by the caller"
	got, err := st.GetWebhook(ctx, "acme", "wh_b")
	if err != nil || got.Events[0] != "case.created" {
		t.Errorf("a listed copy aliases the store: %+v, %v", got, err)
	}
	got.Events[0] = "changed by the caller"
	if again, _ := st.GetWebhook(ctx, "acme", "wh_b"); again.Events[0] != "case.created" {
		t.Errorf("a returned copy aliases the store: %+v", again)
	}
	if _, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_1", WebhookID: "wh_a", Tenant: "acme", Status: webhooks.StatusPending}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteWebhook(ctx, "acme", "wh_a"); err != nil {
		t.Fatal(err)
	}
	checkErr(t, "second delete", st.DeleteWebhook(ctx, "acme", "wh_a"), webhooks.ErrNotFound)
	_, err = st.GetWebhook(ctx, "acme", "wh_a")
	checkErr(t, "get after delete", err, webhooks.ErrNotFound)
	_, err = st.GetDelivery(ctx, "acme", "wh_a", "dlv_1")
	checkErr(t, "delivery of a deleted webhook", err, webhooks.ErrNotFound)
	if list, _ := st.ListWebhooks(ctx, "acme"); len(list) != 2 {
		t.Errorf("%d webhooks after a delete, want 2", len(list))
	}
	// A webhook created again under the deleted ID starts without deliveries.
	if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_a", Tenant: "acme"}); err != nil {
		t.Fatalf("create again after delete: %v", err)
	}
	if ds, err := st.ListDeliveries(ctx, "acme", "wh_a", webhooks.DeliveryFilter{}); err != nil || len(ds) != 0 {
		t.Errorf("deliveries of a re-created webhook = %+v, %v; want none", ds, err)
	}
	_, err = st.GetWebhook(ctx, "acme", "wh_missing")
	checkErr(t, "get missing", err, webhooks.ErrNotFound)
}

// testUpdateWebhook: a failing closure leaves the webhook unchanged and
// its error is returned; a closure cannot move the webhook (ID, tenant,
// Seq are kept).
func testUpdateWebhook(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	created, _ := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme", URL: "https://a.example"})
	boom := errors.New("boom")
	if _, err := st.UpdateWebhook(ctx, "acme", "wh_1", func(w *webhooks.Webhook) error { w.URL = "changed"; return boom }); !errors.Is(err, boom) {
		t.Fatalf("update = %v, want boom", err)
	}
	if w, _ := st.GetWebhook(ctx, "acme", "wh_1"); w.URL != "https://a.example" {
		t.Errorf("a failed update changed the URL to %q", w.URL)
	}
	w, err := st.UpdateWebhook(ctx, "acme", "wh_1", func(w *webhooks.Webhook) error {
		w.ID, w.Tenant, w.Seq, w.Disabled = "other", "globex", 999, true
		return nil
	})
	if err != nil || w.ID != "wh_1" || w.Tenant != "acme" || w.Seq != created.Seq || !w.Disabled {
		t.Errorf("update = %+v, %v; want ID, tenant and Seq kept and Disabled set", w, err)
	}
	if got, _ := st.GetWebhook(ctx, "acme", "wh_1"); !got.Disabled {
		t.Errorf("the update was not stored: %+v", got)
	}
	_, err = st.UpdateWebhook(ctx, "acme", "wh_missing", func(*webhooks.Webhook) error { return nil })
	checkErr(t, "update missing", err, webhooks.ErrNotFound)
}

// testDeliveries: create, get and update of deliveries, with the same
// closure rules as webhooks.
func testDeliveries(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
	d, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_1", WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusPending,
		Event: webhooks.Event{ID: "evt_1", Type: "case.created"}, Attempts: []webhooks.Attempt{{Number: 1}}})
	if err != nil || d.Seq == 0 {
		t.Fatalf("create delivery = %+v, %v", d, err)
	}
	_, err = st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_1", WebhookID: "wh_1", Tenant: "acme"})
	checkErr(t, "duplicate delivery", err, webhooks.ErrConflict)
	_, err = st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_x", WebhookID: "wh_missing", Tenant: "acme"})
	checkErr(t, "delivery of a missing webhook", err, webhooks.ErrNotFound)
	d.Attempts[0].Outcome = "changed by the caller"
	got, err := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1")
	if err != nil || got.Event.ID != "evt_1" || len(got.Attempts) != 1 || got.Attempts[0].Outcome != "" {
		t.Errorf("GetDelivery = %+v, %v; want the stored delivery, unchanged by the caller's copy", got, err)
	}
	_, err = st.GetDelivery(ctx, "acme", "wh_1", "dlv_missing")
	checkErr(t, "get missing delivery", err, webhooks.ErrNotFound)
	_, err = st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_missing", func(*webhooks.Delivery) error { return nil })
	checkErr(t, "update missing delivery", err, webhooks.ErrNotFound)

	boom := errors.New("boom")
	if _, err := st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_1", func(d *webhooks.Delivery) error {
		d.Status = webhooks.StatusSucceeded
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("update delivery = %v, want boom", err)
	}
	if got, _ := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1"); got.Status != webhooks.StatusPending {
		t.Errorf("a failed update changed the status to %s", got.Status)
	}
	upd, err := st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_1", func(d *webhooks.Delivery) error {
		d.ID, d.WebhookID, d.Tenant, d.Seq, d.Status = "other", "wh_other", "globex", 999, webhooks.StatusSucceeded
		return nil
	})
	if err != nil || upd.ID != "dlv_1" || upd.WebhookID != "wh_1" || upd.Tenant != "acme" || upd.Seq != d.Seq || upd.Status != webhooks.StatusSucceeded {
		t.Errorf("update delivery = %+v, %v; want ID, webhook, tenant and Seq kept and the status set", upd, err)
	}
	if got, _ := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1"); got.Status != webhooks.StatusSucceeded {
		t.Errorf("the update was not stored: %s", got.Status)
	}
}

// testDeliveryFilters: ListDeliveries lists newest first, filters by
// status, event type and event ID, pages with a Before cursor and a Limit.
func testDeliveryFilters(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_2", Tenant: "acme"})
	type spec struct {
		id, event, topic string
		status           webhooks.DeliveryStatus
	}
	specs := []spec{
		{"dlv_1", "evt_1", "case.created", webhooks.StatusSucceeded},
		{"dlv_2", "evt_2", "case.updated", webhooks.StatusPending},
		{"dlv_3", "evt_3", "case.created", webhooks.StatusFailed},
		{"dlv_4", "evt_3", "case.created", webhooks.StatusPending}, // a redelivery of evt_3
		{"dlv_5", "evt_5", "case.closed", webhooks.StatusSucceeded},
	}
	for _, s := range specs {
		if _, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: s.id, WebhookID: "wh_1", Tenant: "acme", Status: s.status,
			Event: webhooks.Event{ID: s.event, Type: s.topic}}); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_other", WebhookID: "wh_2", Tenant: "acme", Status: webhooks.StatusPending,
		Event: webhooks.Event{ID: "evt_1", Type: "case.created"}})
	all, _ := st.ListDeliveries(ctx, "acme", "wh_1", webhooks.DeliveryFilter{})
	ids := func(ds []webhooks.Delivery) []string {
		out := []string{}
		for _, d := range ds {
			out = append(out, d.ID)
		}
		return out
	}
	tests := []struct {
		name   string
		filter webhooks.DeliveryFilter
		want   []string
	}{
		{name: "all, newest first", want: []string{"dlv_5", "dlv_4", "dlv_3", "dlv_2", "dlv_1"}},
		{name: "pending", filter: webhooks.DeliveryFilter{Status: webhooks.StatusPending}, want: []string{"dlv_4", "dlv_2"}},
		{name: "succeeded", filter: webhooks.DeliveryFilter{Status: webhooks.StatusSucceeded}, want: []string{"dlv_5", "dlv_1"}},
		{name: "failed", filter: webhooks.DeliveryFilter{Status: webhooks.StatusFailed}, want: []string{"dlv_3"}},
		{name: "event type", filter: webhooks.DeliveryFilter{EventType: "case.created"}, want: []string{"dlv_4", "dlv_3", "dlv_1"}},
		{name: "event id", filter: webhooks.DeliveryFilter{EventID: "evt_3"}, want: []string{"dlv_4", "dlv_3"}},
		{name: "type and status", filter: webhooks.DeliveryFilter{EventType: "case.created", Status: webhooks.StatusPending}, want: []string{"dlv_4"}},
		{name: "no match", filter: webhooks.DeliveryFilter{EventType: "case.deleted"}, want: []string{}},
		{name: "limit", filter: webhooks.DeliveryFilter{Limit: 2}, want: []string{"dlv_5", "dlv_4"}},
		{name: "before", filter: webhooks.DeliveryFilter{Before: all[1].Seq}, want: []string{"dlv_3", "dlv_2", "dlv_1"}},
		{name: "before and limit", filter: webhooks.DeliveryFilter{Before: all[1].Seq, Limit: 2}, want: []string{"dlv_3", "dlv_2"}},
		{name: "before, limit and status", filter: webhooks.DeliveryFilter{Before: all[0].Seq, Limit: 1, Status: webhooks.StatusPending},
			want: []string{"dlv_4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := st.ListDeliveries(ctx, "acme", "wh_1", tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if g := ids(got); len(g) != len(tt.want) || !equal(g, tt.want) {
				t.Errorf("ListDeliveries(%+v) = %v, want %v", tt.filter, g, tt.want)
			}
		})
	}
	_, err := st.ListDeliveries(ctx, "acme", "wh_missing", webhooks.DeliveryFilter{})
	checkErr(t, "deliveries of a missing webhook", err, webhooks.ErrNotFound)
}

func equal(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// testReset: Reset removes every webhook and delivery, and the IDs can be
// used again.
func testReset(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_2", Tenant: "globex"})
	_, _ = st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_1", WebhookID: "wh_1", Tenant: "acme", Status: webhooks.StatusPending})
	if err := st.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"acme", "globex"} {
		if ws, _ := st.ListWebhooks(ctx, tenant); len(ws) != 0 {
			t.Errorf("%d webhooks of %s after reset", len(ws), tenant)
		}
	}
	_, err := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1")
	checkErr(t, "delivery after reset", err, webhooks.ErrNotFound)
	if _, err := st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"}); err != nil {
		t.Errorf("create after reset: %v", err)
	}
	if ds, _ := st.ListDeliveries(ctx, "acme", "wh_1", webhooks.DeliveryFilter{}); len(ds) != 0 {
		t.Errorf("%d deliveries survived the reset", len(ds))
	}
	if _, err := st.CreateDelivery(ctx, webhooks.Delivery{ID: "dlv_1", WebhookID: "wh_1", Tenant: "acme"}); err != nil {
		t.Errorf("create delivery after reset: %v", err)
	}
}
