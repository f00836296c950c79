// Package storetest is the conformance suite every tenants.Store
// implementation passes: the in-memory default does, and a durable backend
// is done when it does too.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/fixtures"
)

// Run runs the suite against stores made by newStore, a new empty store
// for each subtest. Run it with -race. Records are compared with empty and
// nil lists taken as equal.
func Run(t *testing.T, newStore func(t *testing.T) tenants.Store) {
	t.Run("create and get", func(t *testing.T) { testCreateGet(t, newStore(t)) })
	t.Run("token digests", func(t *testing.T) { testDigests(t, newStore(t)) })
	t.Run("list order", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("list pages", func(t *testing.T) { testPages(t, newStore(t)) })
	t.Run("update", func(t *testing.T) { testUpdate(t, newStore(t)) })
	t.Run("delete", func(t *testing.T) { testDelete(t, newStore(t)) })
	t.Run("concurrent creates of one id", func(t *testing.T) { testConcurrentCreate(t, newStore(t)) })
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

var errBoom = errors.New("boom")

var opts = cmp.Options{cmpopts.EquateEmpty()}

func sample(id string, at time.Time) tenants.Tenant {
	return tenants.Tenant{ID: id, Name: "Tenant " + id, Locale: "de",
		Policy: fixtures.Policy{ApprovedScopes: []string{"cases:read"}, GrantTypes: []string{"client_credentials"},
			RedirectURIPatterns: []string{"https://*." + id + ".example/*"}, PublicClients: true},
		Users: []fixtures.User{{ID: "usr_" + id, Email: "u@" + id + ".example", Name: "U", Role: "analyst",
			Claims: map[string]any{"team": "x"}}},
		AdminTokenDigest: tenants.Digest("admin-" + id), ControlTokenDigest: tenants.Digest("control-" + id),
		SelfReview: true, Template: "acme", CreatedAt: at}
}

func mustCreate(t *testing.T, s tenants.Store, ts ...tenants.Tenant) {
	t.Helper()
	for _, x := range ts {
		if err := s.CreateTenant(context.Background(), x); err != nil {
			t.Fatalf("CreateTenant(%s): %v", x.ID, err)
		}
	}
}

func testCreateGet(t *testing.T, s tenants.Store) {
	ctx := context.Background()
	a := sample("alpha", t0)
	mustCreate(t, s, a)
	got, err := s.GetTenant(ctx, "alpha")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a, got, opts); d != "" {
		t.Errorf("GetTenant (-stored +got):\n%s", d)
	}
	got.Users[0].Name = "changed"
	got.Policy.ApprovedScopes[0] = "changed"
	again, _ := s.GetTenant(ctx, "alpha")
	if again.Users[0].Name != "U" || again.Policy.ApprovedScopes[0] != "cases:read" {
		t.Errorf("a returned record shares memory with the store: %+v", again)
	}
	if err := s.CreateTenant(ctx, sample("alpha", t0.Add(time.Hour))); !errors.Is(err, tenants.ErrExists) {
		t.Errorf("second CreateTenant(alpha) = %v, want ErrExists", err)
	}
	if _, err := s.GetTenant(ctx, "nobody"); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("GetTenant(nobody) = %v, want ErrNotFound", err)
	}
}

func testDigests(t *testing.T, s tenants.Store) {
	ctx := context.Background()
	b := sample("beta", t0)
	b.ControlTokenDigest = ""
	mustCreate(t, s, sample("alpha", t0), b)
	for _, tc := range []struct {
		digest, wantID, wantKind string
	}{
		{tenants.Digest("admin-alpha"), "alpha", tenants.KindAdmin},
		{tenants.Digest("control-alpha"), "alpha", tenants.KindControl},
		{tenants.Digest("admin-beta"), "beta", tenants.KindAdmin},
	} {
		got, kind, err := s.TenantByTokenDigest(ctx, tc.digest)
		if err != nil || got.ID != tc.wantID || kind != tc.wantKind {
			t.Errorf("TenantByTokenDigest(%s) = %s, %s, %v; want %s, %s", tc.digest, got.ID, kind, err, tc.wantID, tc.wantKind)
		}
	}
	for _, d := range []string{"", tenants.Digest("control-beta"), tenants.Digest("nothing")} {
		if _, _, err := s.TenantByTokenDigest(ctx, d); !errors.Is(err, tenants.ErrNotFound) {
			t.Errorf("TenantByTokenDigest(%q) = %v, want ErrNotFound", d, err)
		}
	}
}

func testList(t *testing.T, s tenants.Store) {
	mustCreate(t, s, sample("gamma", t0.Add(time.Hour)), sample("beta", t0), sample("alpha", t0))
	got, next, err := s.ListTenants(context.Background(), tenants.Cursor{}, 10)
	if err != nil || next != (tenants.Cursor{}) {
		t.Fatalf("ListTenants: next %+v, %v; want the last page", next, err)
	}
	var ids []string
	for _, x := range got {
		ids = append(ids, x.ID)
	}
	if d := cmp.Diff([]string{"alpha", "beta", "gamma"}, ids); d != "" {
		t.Errorf("ListTenants order (-want +got):\n%s", d)
	}
}

func testUpdate(t *testing.T, s tenants.Store) {
	ctx := context.Background()
	mustCreate(t, s, sample("alpha", t0))
	if _, err := s.UpdateTenant(ctx, "alpha", func(x *tenants.Tenant) error {
		x.Name = "half"
		x.ControlTokenDigest = tenants.Digest("never")
		return errBoom
	}); !errors.Is(err, errBoom) {
		t.Fatalf("UpdateTenant with a failing closure = %v, want its error", err)
	}
	if got, _ := s.GetTenant(ctx, "alpha"); got.Name != "Tenant alpha" {
		t.Errorf("a failed update changed the name to %q", got.Name)
	}
	got, err := s.UpdateTenant(ctx, "alpha", func(x *tenants.Tenant) error {
		x.ID = "other"
		x.ControlTokenDigest = tenants.Digest("control-new")
		return nil
	})
	if err != nil || got.ID != "alpha" {
		t.Fatalf("UpdateTenant = %+v, %v; want the id kept", got, err)
	}
	if _, _, err := s.TenantByTokenDigest(ctx, tenants.Digest("control-alpha")); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("the replaced control digest still finds the tenant: %v", err)
	}
	if x, kind, err := s.TenantByTokenDigest(ctx, tenants.Digest("control-new")); err != nil || x.ID != "alpha" || kind != tenants.KindControl {
		t.Errorf("the new control digest = %s, %s, %v", x.ID, kind, err)
	}
	if x, _, err := s.TenantByTokenDigest(ctx, tenants.Digest("admin-alpha")); err != nil || x.ID != "alpha" {
		t.Errorf("the unchanged admin digest = %s, %v", x.ID, err)
	}
	if _, err := s.UpdateTenant(ctx, "nobody", func(*tenants.Tenant) error { return nil }); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("UpdateTenant(nobody) = %v, want ErrNotFound", err)
	}
}

func testDelete(t *testing.T, s tenants.Store) {
	ctx := context.Background()
	mustCreate(t, s, sample("alpha", t0), sample("beta", t0))
	if err := s.DeleteTenant(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetTenant(ctx, "alpha"); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("GetTenant after delete = %v, want ErrNotFound", err)
	}
	for _, tok := range []string{"admin-alpha", "control-alpha"} {
		if _, _, err := s.TenantByTokenDigest(ctx, tenants.Digest(tok)); !errors.Is(err, tenants.ErrNotFound) {
			t.Errorf("the deleted tenant's %s digest = %v, want ErrNotFound", tok, err)
		}
	}
	if _, _, err := s.TenantByTokenDigest(ctx, tenants.Digest("admin-beta")); err != nil {
		t.Errorf("another tenant's digest after the delete: %v", err)
	}
	if err := s.DeleteTenant(ctx, "alpha"); !errors.Is(err, tenants.ErrNotFound) {
		t.Errorf("second DeleteTenant = %v, want ErrNotFound", err)
	}
	mustCreate(t, s, sample("alpha", t0.Add(time.Hour)))
}

func testConcurrentCreate(t *testing.T, s tenants.Store) {
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			x := sample("alpha", t0)
			x.Name = fmt.Sprint("writer ", i)
			errs[i] = s.CreateTenant(context.Background(), x)
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, tenants.ErrExists):
			t.Errorf("CreateTenant: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent creates of one id succeeded, want 1", ok)
	}
}

// testPages holds ListTenants to keyset paging: pages in order without
// repeats or gaps, a tenant deleted between pages (the last served, the
// next to serve) moves no other, a tenant created meanwhile appears in
// its place, and limits at the edges.
func testPages(t *testing.T, s tenants.Store) {
	ctx := context.Background()
	// Two tenants share a microsecond (ties by id); one is before 1970.
	mustCreate(t, s, sample("e", t0.Add(3*time.Hour)), sample("b", t0.Add(time.Hour)), sample("a", t0),
		sample("d", t0.Add(2*time.Hour)), sample("c", t0.Add(time.Hour)), sample("z", time.Unix(-5, 0)))
	ids := func(ts []tenants.Tenant) (out []string) {
		for _, x := range ts {
			out = append(out, x.ID)
		}
		return out
	}
	first, next, err := s.ListTenants(ctx, tenants.Cursor{}, 3)
	if err != nil || !cmp.Equal(ids(first), []string{"z", "a", "b"}) || next != tenants.CursorOf(first[2]) {
		t.Fatalf("first page = %v, next %+v, %v; want z a b, next at b", ids(first), next, err)
	}
	if err := s.DeleteTenant(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTenant(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, s, sample("bb", t0.Add(time.Hour)))
	second, next2, err := s.ListTenants(ctx, next, 3)
	if err != nil || !cmp.Equal(ids(second), []string{"bb", "d", "e"}) || next2 != (tenants.Cursor{}) {
		t.Errorf("page after deletes = %v, next %+v, %v; want bb d e as the last page (exactly the rest)", ids(second), next2, err)
	}
	one, n1, _ := s.ListTenants(ctx, tenants.Cursor{}, 0)
	if !cmp.Equal(ids(one), []string{"z"}) || n1 != tenants.CursorOf(one[0]) {
		t.Errorf("limit 0 = %v, next %+v; want z and a next cursor", ids(one), n1)
	}
	all, n, _ := s.ListTenants(ctx, tenants.Cursor{}, 100)
	if !cmp.Equal(ids(all), []string{"z", "a", "bb", "d", "e"}) || n != (tenants.Cursor{}) {
		t.Errorf("one page with room to spare = %v, next %+v", ids(all), n)
	}
	if past, n, err := s.ListTenants(ctx, tenants.CursorOf(all[4]), 5); err != nil || len(past) != 0 || n != (tenants.Cursor{}) {
		t.Errorf("after the last = %v, next %+v, %v; want an empty last page", ids(past), n, err)
	}
	// A cursor survives its round trip through the opaque form.
	if c, err := tenants.ParseCursor(next.String()); err != nil || c != next {
		t.Errorf("ParseCursor(String()) = %+v, %v; want %+v", c, err, next)
	}
}
