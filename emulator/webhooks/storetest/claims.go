package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
	"github.com/knogin/argus-sandbox/internal/racetest"
)

// t0 is the suite's reference time, whole microseconds in UTC so that any
// store keeps it exactly.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const lease = 30 * time.Second

// runClaims checks the durable delivery contract: which deliveries
// ClaimDue takes, that a lease keeps a delivery from every other claimer
// until it lapses, and that claims never overlap under contention.
func runClaims(t *testing.T, newStore func(*testing.T, Limits) webhooks.Store) {
	t.Run("due and free", func(t *testing.T) { testClaimDue(t, newStore(t, Limits{})) })
	t.Run("lease lapses", func(t *testing.T) { testLeaseLapses(t, newStore(t, Limits{})) })
	t.Run("limit and order", func(t *testing.T) { testClaimOrder(t, newStore(t, Limits{})) })
	t.Run("tenants", func(t *testing.T) { testClaimTenants(t, newStore(t, Limits{})) })
	t.Run("one tenant and the next due", func(t *testing.T) { testClaimOneTenant(t, newStore(t, Limits{})) })
	t.Run("hold count and marks", func(t *testing.T) { testHolds(t, newStore(t, Limits{})) })
	t.Run("extend and release", func(t *testing.T) { testExtendLeases(t, newStore(t, Limits{})) })
	t.Run("create many", func(t *testing.T) { testCreateDeliveries(t, newStore(t, Limits{})) })
	t.Run("concurrent claimers", func(t *testing.T) { testConcurrentClaimers(t, newStore(t, Limits{})) })
	t.Run("claim by update races ClaimDue", func(t *testing.T) { testClaimByUpdate(t, newStore(t, Limits{})) })
	t.Run("outstanding", func(t *testing.T) { testOutstanding(t, newStore(t, Limits{})) })
}

func pending(id, webhookID, tenant string, due time.Time) webhooks.Delivery {
	return webhooks.Delivery{ID: id, WebhookID: webhookID, Tenant: tenant, Status: webhooks.StatusPending,
		Event: webhooks.Event{ID: "evt_" + id, Type: "case.created"}, Body: []byte(`{"id":"evt_` + id + `"}`),
		NextAttemptAt: due, CreatedAt: t0, UpdatedAt: t0}
}

func claim(owner string, due, now time.Time, limit int) webhooks.Claim {
	return webhooks.Claim{Owner: owner, Due: due, Now: now, Lease: lease, Limit: limit}
}

func claimIDs(t *testing.T, st webhooks.Store, c webhooks.Claim) []string {
	t.Helper()
	got, err := st.ClaimDue(context.Background(), c)
	if err != nil {
		t.Fatalf("ClaimDue(%+v): %v", c, err)
	}
	out := []string{}
	for _, d := range got {
		if d.LeaseOwner != c.Owner || !d.LeaseUntil.Equal(c.Now.Add(c.Lease)) {
			t.Errorf("claimed %s carries lease %q until %s, want %q until %s", d.ID, d.LeaseOwner, d.LeaseUntil, c.Owner, c.Now.Add(c.Lease))
		}
		out = append(out, d.ID)
	}
	return out
}

func wantIDs(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// testClaimDue: only pending deliveries that are due and free are claimed;
// a scheduled one becomes claimable at its due time, not before; the claim
// is stored with the delivery and nothing else changes.
func testClaimDue(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
	ds := []webhooks.Delivery{
		pending("dlv_due", "wh_1", "acme", t0.Add(-time.Minute)),
		pending("dlv_now", "wh_1", "acme", t0),
		pending("dlv_later", "wh_1", "acme", t0.Add(5*time.Minute)),
		pending("dlv_held", "wh_1", "acme", t0.Add(-time.Minute)),
	}
	done := pending("dlv_done", "wh_1", "acme", time.Time{})
	done.Status = webhooks.StatusSucceeded
	failed := pending("dlv_failed", "wh_1", "acme", time.Time{})
	failed.Status = webhooks.StatusFailed
	ds[3].LeaseOwner, ds[3].LeaseUntil = "other", t0.Add(time.Minute)
	for _, d := range append(ds, done, failed) {
		if _, err := st.CreateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := st.GetDelivery(ctx, "acme", "wh_1", "dlv_held"); got.LeaseOwner != "other" || !got.LeaseUntil.Equal(t0.Add(time.Minute)) {
		t.Errorf("a delivery created leased reads back with lease %q until %s", got.LeaseOwner, got.LeaseUntil)
	}
	wantIDs(t, "first claim", claimIDs(t, st, claim("a", t0, t0, 10)), "dlv_due", "dlv_now")
	wantIDs(t, "claim while the leases hold", claimIDs(t, st, claim("b", t0, t0.Add(time.Second), 10)))
	wantIDs(t, "claim before the scheduled one is due", claimIDs(t, st, claim("b", t0.Add(5*time.Minute-time.Microsecond), t0, 10)))
	wantIDs(t, "claim once it is due", claimIDs(t, st, claim("b", t0.Add(5*time.Minute), t0, 10)), "dlv_later")

	got, err := st.GetDelivery(ctx, "acme", "wh_1", "dlv_due")
	if err != nil || got.LeaseOwner != "a" || !got.LeaseUntil.Equal(t0.Add(lease)) || got.Status != webhooks.StatusPending ||
		!got.NextAttemptAt.Equal(t0.Add(-time.Minute)) || string(got.Body) != `{"id":"evt_dlv_due"}` || got.Event.ID != "evt_dlv_due" {
		t.Errorf("claimed delivery reads back as %+v, %v; want the lease stored and the rest unchanged", got, err)
	}
	if got, err := st.ClaimDue(ctx, claim("c", t0.Add(time.Hour), t0, 0)); err != nil || len(got) != 0 {
		t.Errorf("a claim with Limit 0 = %d deliveries, %v; want none", len(got), err)
	}
}

// testLeaseLapses: a lease keeps its delivery from other claimers up to
// LeaseUntil; from then on the delivery is claimable again, and the new
// claim replaces the lapsed one.
func testLeaseLapses(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
	_, _ = st.CreateDelivery(ctx, pending("dlv_1", "wh_1", "acme", t0))
	wantIDs(t, "claim by a", claimIDs(t, st, claim("a", t0, t0, 1)), "dlv_1")
	wantIDs(t, "claim by b just before the lease lapses", claimIDs(t, st, claim("b", t0, t0.Add(lease-time.Microsecond), 1)))
	wantIDs(t, "claim by a again while its own lease holds", claimIDs(t, st, claim("a", t0, t0.Add(time.Second), 1)))
	wantIDs(t, "claim by b once the lease lapsed", claimIDs(t, st, claim("b", t0, t0.Add(lease), 1)), "dlv_1")
	if got, _ := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1"); got.LeaseOwner != "b" || !got.LeaseUntil.Equal(t0.Add(2*lease)) {
		t.Errorf("after the second claim the lease is %q until %s, want b until %s", got.LeaseOwner, got.LeaseUntil, t0.Add(2*lease))
	}
	// Recording an attempt releases the lease and schedules the next one.
	if _, err := st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_1", func(d *webhooks.Delivery) error {
		d.LeaseOwner, d.LeaseUntil, d.NextAttemptAt, d.AttemptCount = "", time.Time{}, t0.Add(time.Hour), 1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "claim of a released delivery before it is due", claimIDs(t, st, claim("c", t0.Add(time.Minute), t0, 1)))
	wantIDs(t, "claim of a released delivery once due", claimIDs(t, st, claim("c", t0.Add(time.Hour), t0, 1)), "dlv_1")
	// A finished delivery is never claimed, whatever its lease says.
	_, _ = st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_1", func(d *webhooks.Delivery) error {
		d.Status = webhooks.StatusSucceeded
		return nil
	})
	wantIDs(t, "claim of a finished delivery", claimIDs(t, st, claim("d", t0.Add(2*time.Hour), t0.Add(time.Hour), 1)))
}

// testClaimOrder: a claim takes at most Limit deliveries, earliest due
// first and, at the same due time, oldest first (of one webhook: Seqs need
// only be ordered per webhook); the next claim goes on where it stopped.
func testClaimOrder(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_2", Tenant: "acme"})
	for _, d := range []webhooks.Delivery{
		pending("dlv_3", "wh_1", "acme", t0.Add(3*time.Second)),
		pending("dlv_1a", "wh_1", "acme", t0.Add(time.Second)),
		pending("dlv_1b", "wh_1", "acme", t0.Add(time.Second)),
		pending("dlv_0", "wh_2", "acme", t0),
		pending("dlv_2", "wh_1", "acme", t0.Add(2*time.Second)),
	} {
		if _, err := st.CreateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	due := t0.Add(time.Minute)
	wantIDs(t, "first two", claimIDs(t, st, claim("a", due, t0, 2)), "dlv_0", "dlv_1a")
	wantIDs(t, "next two", claimIDs(t, st, claim("a", due, t0, 2)), "dlv_1b", "dlv_2")
	wantIDs(t, "the rest", claimIDs(t, st, claim("a", due, t0, 2)), "dlv_3")
	wantIDs(t, "nothing left", claimIDs(t, st, claim("a", due, t0, 2)))
}

// testClaimTenants: ClaimDue serves every tenant, each claimed delivery
// keeps its tenant and webhook, and a claim does not open a delivery to
// another tenant.
func testClaimTenants(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_a", Tenant: "acme"})
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_g", Tenant: "globex"})
	_, _ = st.CreateDelivery(ctx, pending("dlv_a", "wh_a", "acme", t0))
	_, _ = st.CreateDelivery(ctx, pending("dlv_g", "wh_g", "globex", t0.Add(time.Second)))
	got, err := st.ClaimDue(ctx, claim("a", t0.Add(time.Minute), t0, 10))
	if err != nil || len(got) != 2 {
		t.Fatalf("ClaimDue = %+v, %v; want both tenants' deliveries", got, err)
	}
	if got[0].ID != "dlv_a" || got[0].Tenant != "acme" || got[0].WebhookID != "wh_a" ||
		got[1].ID != "dlv_g" || got[1].Tenant != "globex" || got[1].WebhookID != "wh_g" {
		t.Errorf("claimed %s (%s/%s) and %s (%s/%s); want dlv_a of acme/wh_a and dlv_g of globex/wh_g",
			got[0].ID, got[0].Tenant, got[0].WebhookID, got[1].ID, got[1].Tenant, got[1].WebhookID)
	}
	_, err = st.GetDelivery(ctx, "acme", "wh_g", "dlv_g")
	checkErr(t, "another tenant's claimed delivery", err, webhooks.ErrNotFound)
	_, err = st.UpdateDelivery(ctx, "globex", "wh_a", "dlv_a", func(*webhooks.Delivery) error { return nil })
	checkErr(t, "update of another tenant's claimed delivery", err, webhooks.ErrNotFound)
	if n, err := st.ExtendLeases(ctx, "a", t0.Add(time.Hour)); err != nil || n != 2 {
		t.Errorf("ExtendLeases across tenants = %d, %v; want 2", n, err)
	}
}

// testClaimOneTenant: a claim naming a tenant takes only its deliveries,
// and NextDue names the earliest due time such a claim would take: not a
// leased, a finished or another tenant's delivery, nor one due after Due.
func testClaimOneTenant(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_a", Tenant: "acme"})
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_g", Tenant: "globex"})
	held := pending("dlv_a_held", "wh_a", "acme", t0)
	held.LeaseOwner, held.LeaseUntil = "other", t0.Add(lease)
	done := pending("dlv_a_done", "wh_a", "acme", t0)
	done.Status = webhooks.StatusSucceeded
	for _, d := range []webhooks.Delivery{
		pending("dlv_g_early", "wh_g", "globex", t0.Add(time.Minute)),
		held, done,
		pending("dlv_a_1", "wh_a", "acme", t0.Add(2*time.Minute)),
		pending("dlv_a_2", "wh_a", "acme", t0.Add(3*time.Minute)),
		pending("dlv_a_late", "wh_a", "acme", t0.Add(time.Hour)),
	} {
		if _, err := st.CreateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	next := func(c webhooks.Claim) string {
		t.Helper()
		at, ok, err := st.NextDue(ctx, c)
		if err != nil {
			t.Fatalf("NextDue(%+v): %v", c, err)
		}
		if !ok {
			return "none"
		}
		return at.Sub(t0).String()
	}
	acme := func(owner string, due, now time.Time, limit int) webhooks.Claim {
		c := claim(owner, due, now, limit)
		c.Tenant = "acme"
		return c
	}
	for _, c := range []struct {
		what, want string
		c          webhooks.Claim
	}{
		{"acme's next due within ten minutes", "2m0s", acme("", t0.Add(10*time.Minute), t0, 0)},
		{"any tenant's next due within ten minutes", "1m0s", claim("", t0.Add(10*time.Minute), t0, 0)},
		{"acme's next due before its first", "none", acme("", t0.Add(time.Minute), t0, 0)},
		{"acme's next due once the lease lapsed", "0s", acme("", t0.Add(10*time.Minute), t0.Add(lease), 0)},
	} {
		if got := next(c.c); got != c.want {
			t.Errorf("%s = %s, want %s", c.what, got, c.want)
		}
	}
	wantIDs(t, "acme's claim within ten minutes", claimIDs(t, st, acme("a", t0.Add(10*time.Minute), t0, 10)), "dlv_a_1", "dlv_a_2")
	if got := next(acme("", t0.Add(10*time.Minute), t0, 0)); got != "none" {
		t.Errorf("acme's next due once its due deliveries are claimed = %s, want none", got)
	}
	wantIDs(t, "any tenant's claim within ten minutes", claimIDs(t, st, claim("b", t0.Add(10*time.Minute), t0, 10)), "dlv_g_early")
}

// testHolds: CountHold counts per webhook, raises a count to a floor in
// the same write (and never lowers it), holds under concurrent writers,
// and starts again for a webhook deleted; a delivery's hold marks are
// stored and read back.
func testHolds(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_2", Tenant: "acme"})
	count := func(id string, add int, atLeast, want int64) {
		t.Helper()
		if got, err := st.CountHold(ctx, id, add, atLeast); err != nil || got != want {
			t.Errorf("CountHold(%s, %d, %d) = %d, %v; want %d", id, add, atLeast, got, err, want)
		}
	}
	count("wh_1", 1, 0, 1)
	count("wh_1", 1, 0, 2)
	count("wh_2", 1, 0, 1)
	count("wh_1", 0, 4, 4)
	count("wh_1", 0, 3, 4)
	count("wh_1", 1, 0, 5)
	count("wh_1", 1, 9, 9)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if _, err := st.CountHold(ctx, "wh_2", 1, 0); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	count("wh_2", 0, 0, 41)
	if err := st.DeleteWebhook(ctx, "acme", "wh_2"); err != nil {
		t.Fatal(err)
	}
	count("wh_2", 1, 0, 1)

	d := pending("dlv_held", "wh_1", "acme", t0)
	d.HeldIn, d.HoldSeq, d.HeldBy = 8, 6, "engine-a"
	if _, err := st.CreateDelivery(ctx, d); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetDelivery(ctx, "acme", "wh_1", "dlv_held")
	if err != nil || got.HeldIn != 8 || got.HoldSeq != 6 || got.HeldBy != "engine-a" {
		t.Errorf("a held delivery reads back with HeldIn %d, HoldSeq %d, HeldBy %q (%v); want 8, 6, engine-a", got.HeldIn, got.HoldSeq, got.HeldBy, err)
	}
	got, err = st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_held", func(d *webhooks.Delivery) error {
		d.HeldIn, d.HoldSeq, d.HeldBy = 0, 0, ""
		return nil
	})
	if err != nil || got.HeldIn != 0 || got.HeldBy != "" {
		t.Errorf("after clearing the marks: %+v, %v", got, err)
	}
	if got, _ := st.GetDelivery(ctx, "acme", "wh_1", "dlv_held"); got.HeldIn != 0 || got.HoldSeq != 0 || got.HeldBy != "" {
		t.Errorf("cleared marks read back as %d, %d, %q", got.HeldIn, got.HoldSeq, got.HeldBy)
	}
}

// testExtendLeases: a heartbeat moves only its owner's leases; a release
// makes them claimable at once; finished deliveries are left alone.
func testExtendLeases(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
	for i := range 4 {
		d := pending(fmt.Sprint("dlv_", i), "wh_1", "acme", t0)
		d.LeaseOwner, d.LeaseUntil = "a", t0.Add(lease)
		if i == 3 {
			d.LeaseOwner = "b"
		}
		_, _ = st.CreateDelivery(ctx, d)
	}
	_, _ = st.UpdateDelivery(ctx, "acme", "wh_1", "dlv_2", func(d *webhooks.Delivery) error {
		d.Status = webhooks.StatusSucceeded
		return nil
	})
	if n, err := st.ExtendLeases(ctx, "a", t0.Add(2*lease)); err != nil || n != 2 {
		t.Errorf("ExtendLeases(a) = %d, %v; want 2 (the finished one left alone)", n, err)
	}
	wantIDs(t, "claim after a's heartbeat, once b's lease lapsed", claimIDs(t, st, claim("c", t0, t0.Add(lease), 10)), "dlv_3")
	if got, _ := st.GetDelivery(ctx, "acme", "wh_1", "dlv_0"); got.LeaseOwner != "a" || !got.LeaseUntil.Equal(t0.Add(2*lease)) {
		t.Errorf("after the heartbeat dlv_0 is leased by %q until %s, want a until %s", got.LeaseOwner, got.LeaseUntil, t0.Add(2*lease))
	}
	if n, err := st.ExtendLeases(ctx, "a", time.Time{}); err != nil || n != 2 {
		t.Errorf("release = %d, %v; want 2", n, err)
	}
	if got, _ := st.GetDelivery(ctx, "acme", "wh_1", "dlv_1"); got.LeaseOwner != "" || !got.LeaseUntil.IsZero() {
		t.Errorf("a released delivery keeps lease %q until %s", got.LeaseOwner, got.LeaseUntil)
	}
	wantIDs(t, "claim right after the release", claimIDs(t, st, claim("c", t0, t0, 10)), "dlv_0", "dlv_1")
	if n, err := st.ExtendLeases(ctx, "nobody", t0.Add(lease)); err != nil || n != 0 {
		t.Errorf("ExtendLeases of an owner holding nothing = %d, %v; want 0", n, err)
	}
}

// testCreateDeliveries: a batch is stored whole, in order, with its leases;
// a batch with one bad delivery stores none of them.
func testCreateDeliveries(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_2", Tenant: "acme"})
	batch := []webhooks.Delivery{pending("dlv_1", "wh_1", "acme", t0), pending("dlv_2", "wh_2", "acme", t0), pending("dlv_3", "wh_1", "acme", t0)}
	batch[1].LeaseOwner, batch[1].LeaseUntil = "a", t0.Add(lease)
	got, err := st.CreateDeliveries(ctx, batch)
	if err != nil || len(got) != 3 {
		t.Fatalf("CreateDeliveries = %+v, %v", got, err)
	}
	if !(got[0].Seq > 0 && got[1].Seq > 0 && got[0].Seq < got[2].Seq) {
		t.Errorf("Seqs %d, %d, %d: want them assigned, and in the batch's order within a webhook", got[0].Seq, got[1].Seq, got[2].Seq)
	}
	if d, err := st.GetDelivery(ctx, "acme", "wh_2", "dlv_2"); err != nil || d.LeaseOwner != "a" || !d.LeaseUntil.Equal(t0.Add(lease)) {
		t.Errorf("batch delivery reads back as %+v, %v; want its lease kept", d, err)
	}
	for _, tt := range []struct {
		name    string
		batch   []webhooks.Delivery
		wantErr error
	}{
		{name: "an existing ID", batch: []webhooks.Delivery{pending("dlv_4", "wh_1", "acme", t0), pending("dlv_1", "wh_1", "acme", t0)},
			wantErr: webhooks.ErrConflict},
		{name: "a missing webhook", batch: []webhooks.Delivery{pending("dlv_4", "wh_1", "acme", t0), pending("dlv_5", "wh_missing", "acme", t0)},
			wantErr: webhooks.ErrNotFound},
		{name: "another tenant's webhook", batch: []webhooks.Delivery{pending("dlv_4", "wh_1", "acme", t0), pending("dlv_5", "wh_2", "globex", t0)},
			wantErr: webhooks.ErrNotFound},
		{name: "one ID twice", batch: []webhooks.Delivery{pending("dlv_4", "wh_1", "acme", t0), pending("dlv_4", "wh_1", "acme", t0)},
			wantErr: webhooks.ErrConflict},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := st.CreateDeliveries(ctx, tt.batch)
			checkErr(t, "CreateDeliveries", err, tt.wantErr)
			_, err = st.GetDelivery(ctx, "acme", "wh_1", "dlv_4")
			checkErr(t, "the batch's valid delivery", err, webhooks.ErrNotFound)
		})
	}
	if got, err := st.CreateDeliveries(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("an empty batch = %+v, %v", got, err)
	}
}

// testConcurrentClaimers: many claimers taking small batches at once get
// every due delivery, each exactly once.
func testConcurrentClaimers(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_2", Tenant: "globex"})
	const n = 300
	batch := make([]webhooks.Delivery, n)
	for i := range batch {
		wh, tenant := "wh_1", "acme"
		if i%2 == 1 {
			wh, tenant = "wh_2", "globex"
		}
		batch[i] = pending(fmt.Sprint("dlv_", i), wh, tenant, t0.Add(time.Duration(i%7)*time.Millisecond))
	}
	if _, err := st.CreateDeliveries(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	owners := map[string][]string{}
	var claims atomic.Int32
	racetest.Run(writers, func(i int) {
		owner := fmt.Sprint("owner_", i)
		for {
			got, err := st.ClaimDue(ctx, claim(owner, t0.Add(time.Second), t0, 3))
			if err != nil {
				t.Error(err)
				return
			}
			if len(got) == 0 {
				return
			}
			claims.Add(1)
			mu.Lock()
			for _, d := range got {
				owners[d.ID] = append(owners[d.ID], owner)
			}
			mu.Unlock()
		}
	})
	if len(owners) != n {
		t.Errorf("%d deliveries claimed, want %d", len(owners), n)
	}
	for id, o := range owners {
		if len(o) != 1 {
			t.Errorf("%s claimed %d times (by %v) while its lease held", id, len(o), o)
		}
	}
	for _, d := range batch {
		got, err := st.GetDelivery(ctx, d.Tenant, d.WebhookID, d.ID)
		if o := owners[d.ID]; err != nil || len(o) != 1 || got.LeaseOwner != o[0] {
			t.Errorf("%s is stored leased by %q, claimed by %v (%v)", d.ID, got.LeaseOwner, o, err)
		}
	}
}

var errLeased = errors.New("leased")

// testClaimByUpdate: a claim made inside an UpdateDelivery closure and
// ClaimDue exclude each other: of many racing for one delivery, one wins.
func testClaimByUpdate(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	_, _ = st.CreateWebhook(ctx, webhooks.Webhook{ID: "wh_1", Tenant: "acme"})
	for round := range 5 {
		id := fmt.Sprint("dlv_", round)
		_, _ = st.CreateDelivery(ctx, pending(id, "wh_1", "acme", t0))
		var won atomic.Int32
		racetest.Run(writers, func(i int) {
			owner := fmt.Sprint("owner_", i)
			if i%2 == 0 {
				got, err := st.ClaimDue(ctx, claim(owner, t0, t0, 1))
				if err != nil {
					t.Error(err)
				}
				won.Add(int32(len(got)))
				return
			}
			_, err := st.UpdateDelivery(ctx, "acme", "wh_1", id, func(d *webhooks.Delivery) error {
				if d.Leased(t0) {
					return errLeased
				}
				d.LeaseOwner, d.LeaseUntil = owner, t0.Add(lease)
				return nil
			})
			switch {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, errLeased):
				t.Error(err)
			}
		})
		if n := won.Load(); n != 1 {
			t.Errorf("round %d: %d claims of one delivery succeeded, want 1", round, n)
		}
	}
}

// testOutstanding: a pending delivery due at the time asked counts,
// leased (being attempted) or free (about to be claimed), unless the
// asker holds it; one not due yet counts for nobody, leased or not, and
// neither does a finished one. A tenant is asked about alone.
func testOutstanding(t *testing.T, st webhooks.Store) {
	ctx := context.Background()
	outstanding := func(what string, o webhooks.Outstanding, want bool) {
		t.Helper()
		got, err := st.Outstanding(ctx, o)
		if err != nil || got != want {
			t.Errorf("%s: Outstanding(%+v) = %v, %v; want %v", what, o, got, err, want)
		}
	}
	outstanding("an empty store", webhooks.Outstanding{Due: t0.Add(time.Hour), Except: "a"}, false)
	for _, w := range []webhooks.Webhook{{ID: "wh_1", Tenant: "acme"}, {ID: "wh_2", Tenant: "globex"}} {
		if _, err := st.CreateWebhook(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	done := pending("dlv_done", "wh_1", "acme", t0.Add(-time.Hour))
	done.Status = webhooks.StatusSucceeded
	later := pending("dlv_later", "wh_1", "acme", t0.Add(time.Minute))
	later.LeaseOwner, later.LeaseUntil = "b", t0.Add(lease) // a delayed attempt waiting on b's clock
	mine := pending("dlv_mine", "wh_1", "acme", t0)
	mine.LeaseOwner, mine.LeaseUntil = "a", t0.Add(lease)
	for _, d := range []webhooks.Delivery{done, later, mine} {
		if _, err := st.CreateDelivery(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	outstanding("only the asker's own and one not due", webhooks.Outstanding{Due: t0, Except: "a"}, false)
	outstanding("the asker's own, asked by another", webhooks.Outstanding{Due: t0, Except: "b"}, true)
	outstanding("another's lease once due", webhooks.Outstanding{Due: t0.Add(time.Minute), Except: "a"}, true)
	outstanding("another's lease, its tenant", webhooks.Outstanding{Tenant: "acme", Due: t0.Add(time.Minute), Except: "a"}, true)
	outstanding("another tenant", webhooks.Outstanding{Tenant: "globex", Due: t0.Add(time.Hour), Except: "a"}, false)

	if _, err := st.CreateDelivery(ctx, pending("dlv_free", "wh_2", "globex", t0.Add(-time.Second))); err != nil {
		t.Fatal(err)
	}
	outstanding("a free due delivery", webhooks.Outstanding{Tenant: "globex", Due: t0, Except: "a"}, true)
	outstanding("a free delivery before it is due", webhooks.Outstanding{Tenant: "globex", Due: t0.Add(-2 * time.Second), Except: "a"}, false)
	outstanding("every tenant", webhooks.Outstanding{Due: t0, Except: "a"}, true)
	outstanding("acme alone", webhooks.Outstanding{Tenant: "acme", Due: t0, Except: "a"}, false)
	outstanding("no asker", webhooks.Outstanding{Tenant: "acme", Due: t0}, true)

	if _, err := st.UpdateDelivery(ctx, "globex", "wh_2", "dlv_free", func(d *webhooks.Delivery) error {
		d.Status = webhooks.StatusSucceeded
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	outstanding("once it finished", webhooks.Outstanding{Due: t0.Add(time.Hour), Except: "a"}, true) // dlv_later, b's
	outstanding("once it finished, globex", webhooks.Outstanding{Tenant: "globex", Due: t0.Add(time.Hour), Except: "a"}, false)
}
