package tenants_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/fixtures"
)

func newRegistry(t *testing.T) *tenants.Registry {
	t.Helper()
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	r, err := tenants.New(context.Background(), tenants.Config{Clock: clock, IDs: core.NewIDs(nil), Fixtures: fixtures.MustDefault()})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestFixtureTenantsAreSeeded(t *testing.T) {
	r := newRegistry(t)
	acme, ok := r.Tenant("acme")
	if !ok || acme.Name != "Acme Corp" || len(acme.Users) == 0 || acme.AdminToken != "" {
		t.Fatalf("Tenant(acme) = %+v, %v; want the fixture tenant without its token", acme, ok)
	}
	p, err := r.AdminAuthenticator().Authenticate(context.Background(), "sandbox_admin_acme")
	if err != nil || p.Tenant != "acme" || p.Kind != core.KindAdmin {
		t.Errorf("the fixture admin token = %+v, %v", p, err)
	}
}

func TestCreateRotateDelete(t *testing.T) {
	ctx := context.Background()
	r := newRegistry(t)
	c, err := r.Create(ctx, tenants.Spec{ID: "partner-a", Name: "Partner A"})
	if err != nil {
		t.Fatal(err)
	}
	if c.AdminToken == "" || c.ControlToken == "" || c.Tenant.AdminTokenDigest != tenants.Digest(c.AdminToken) {
		t.Fatalf("Create = %+v", c)
	}
	if got := c.Tenant.Policy.RedirectURIPatterns[0]; got != "https://*.partner-a.example/*" {
		t.Errorf("open policy redirect pattern = %q", got)
	}
	if _, kind, ok := r.ByToken(ctx, c.ControlToken); !ok || kind != tenants.KindControl {
		t.Errorf("ByToken(control) = %s, %v", kind, ok)
	}
	if _, err := r.AdminAuthenticator().Authenticate(ctx, c.ControlToken); err == nil {
		t.Error("the control token authenticates as administrator")
	}
	if _, err := r.Create(ctx, tenants.Spec{ID: "partner-a", Name: "Again"}); !errors.Is(err, tenants.ErrExists) {
		t.Errorf("a second partner-a = %v, want ErrExists", err)
	}
	tok, _, err := r.RotateToken(ctx, "partner-a", tenants.TokenAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := r.ByToken(ctx, c.AdminToken); ok {
		t.Error("the rotated admin token still works")
	}
	if _, _, ok := r.ByToken(ctx, tok); !ok {
		t.Error("the new admin token does not work")
	}
	if err := r.Delete(ctx, "partner-a"); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{tok, c.ControlToken} {
		if _, _, ok := r.ByToken(ctx, token); ok {
			t.Error("a deleted tenant's token still works")
		}
	}
}

func TestCreateRefusesBadSpecs(t *testing.T) {
	r := newRegistry(t)
	_, err := r.Create(context.Background(), tenants.Spec{ID: "Bad_Id", Name: "",
		Policy: &fixtures.Policy{ApprovedScopes: []string{"nope"}, GrantTypes: []string{"password"}},
		Users:  []fixtures.User{{ID: "u1"}}})
	var inv *tenants.InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("Create = %v, want an *InvalidError", err)
	}
	want := map[string]bool{"/id": true, "/name": true, "/policy/approved_scopes/0": true, "/policy/grant_types/0": true, "/users/0": true}
	for _, is := range inv.Issues {
		delete(want, is.Field)
	}
	if len(want) > 0 {
		t.Errorf("issues %+v miss %v", inv.Issues, want)
	}
}

// TestKeepStoredSeedsNothing: a registry on a store an earlier start
// seeded keeps what the store holds, a fixture tenant deleted since
// included; without KeepStored a missing fixture tenant is seeded.
func TestKeepStoredSeedsNothing(t *testing.T) {
	ctx := context.Background()
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	store := tenants.NewMemoryStore()
	cfg := tenants.Config{Clock: clock, IDs: core.NewIDs(nil), Fixtures: fixtures.MustDefault(), Store: store}
	if _, err := tenants.New(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := store.DeleteTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	cfg.KeepStored = true
	r, err := tenants.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Tenant("acme"); ok {
		t.Error("a registry keeping the stored tenants seeded the deleted fixture tenant again")
	}
	cfg.KeepStored = false
	if r, err = tenants.New(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Tenant("acme"); !ok {
		t.Error("a registry seeding the fixtures did not seed a missing fixture tenant")
	}
}

// countingStore counts the lookups that reach the store.
type countingStore struct {
	tenants.Store
	gets, digests, lists int
}

func (s *countingStore) ListTenants(ctx context.Context, after tenants.Cursor, limit int) ([]tenants.Tenant, tenants.Cursor, error) {
	s.lists++
	return s.Store.ListTenants(ctx, after, limit)
}

func (s *countingStore) GetTenant(ctx context.Context, id string) (tenants.Tenant, error) {
	s.gets++
	return s.Store.GetTenant(ctx, id)
}

func (s *countingStore) TenantByTokenDigest(ctx context.Context, d string) (tenants.Tenant, string, error) {
	s.digests++
	return s.Store.TenantByTokenDigest(ctx, d)
}

// TestCacheServesLookupsUntilAChange: with Cache, a lookup, found or not,
// is asked of the store once; the registry's own changes and Invalidate
// (another process's) are seen at once.
func TestCacheServesLookupsUntilAChange(t *testing.T) {
	ctx := context.Background()
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	store := &countingStore{Store: tenants.NewMemoryStore()}
	r, err := tenants.New(ctx, tenants.Config{Clock: clock, IDs: core.NewIDs(nil), Fixtures: fixtures.MustDefault(), Store: store, Cache: true})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, ok := r.Tenant("acme"); !ok {
			t.Fatal("Tenant(acme) not found")
		}
		if _, _, ok := r.ByToken(ctx, "sandbox_admin_acme"); !ok {
			t.Fatal("the fixture admin token is not found")
		}
	}
	for range 3 {
		if _, ok := r.Tenant("nobody"); ok {
			t.Fatal("Tenant(nobody) found")
		}
		if _, _, ok := r.ByToken(ctx, "eyJ.not.an.admin.token"); ok {
			t.Fatal("an unknown token is found")
		}
	}
	if store.gets != 2 || store.digests != 2 {
		t.Errorf("3 lookups of each of 4 keys reached the store %d and %d times, want twice each", store.gets, store.digests)
	}
	c, err := r.Create(ctx, tenants.Spec{ID: "partner-a", Name: "Partner A"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := r.ByToken(ctx, c.AdminToken); !ok {
		t.Fatal("a created tenant's token is not found")
	}
	admin, _, err := r.RotateToken(ctx, "partner-a", tenants.KindAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := r.ByToken(ctx, c.AdminToken); ok {
		t.Error("the rotated admin token still authenticates through the cache")
	}
	// Another process deletes the tenant: after Invalidate it is gone.
	if err := store.DeleteTenant(ctx, "partner-a"); err != nil {
		t.Fatal(err)
	}
	r.Invalidate()
	if _, _, ok := r.ByToken(ctx, admin); ok {
		t.Error("a tenant deleted elsewhere still authenticates after Invalidate")
	}
	if _, ok := r.Tenant("partner-a"); ok {
		t.Error("a tenant deleted elsewhere is still found after Invalidate")
	}
	// Another process creates it again: found after Invalidate, though
	// its absence was cached.
	if err := store.CreateTenant(ctx, tenants.Tenant{ID: "partner-a", Name: "Again"}); err != nil {
		t.Fatal(err)
	}
	r.Invalidate()
	if got, ok := r.Tenant("partner-a"); !ok || got.Name != "Again" {
		t.Errorf("a tenant created elsewhere = %+v, %v; want found after Invalidate", got, ok)
	}
}

// TestCacheIsBounded: looking up more tenants than the cache keeps never
// grows it past its bound, and every lookup still answers.
func TestCacheIsBounded(t *testing.T) {
	ctx := context.Background()
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	store := tenants.NewMemoryStore()
	r, err := tenants.New(ctx, tenants.Config{Clock: clock, IDs: core.NewIDs(nil), Fixtures: fixtures.MustDefault(), Store: store, Cache: true})
	if err != nil {
		t.Fatal(err)
	}
	n := tenants.MaxCached + 100
	for i := range n {
		if err := store.CreateTenant(ctx, tenants.Tenant{ID: fmt.Sprint("t-", i), AdminTokenDigest: tenants.Digest(fmt.Sprint("admin-", i))}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if _, ok := r.Tenant(fmt.Sprint("t-", i)); !ok {
			t.Fatalf("t-%d not found", i)
		}
		if got, _, ok := r.ByToken(ctx, fmt.Sprint("admin-", i)); !ok || got.ID != fmt.Sprint("t-", i) {
			t.Fatalf("admin-%d: %s, %v", i, got.ID, ok)
		}
		if c := r.Cached(); c > tenants.MaxCached {
			t.Fatalf("after %d tenants the cache holds %d answers, more than %d", i+1, c, tenants.MaxCached)
		}
	}
}

// TestClaimNamesAreKeptUntilAChange: the claim names (every tenant's users
// read) are read from the store once, then again only after a change, the
// registry's own or another process's (Invalidate).
func TestClaimNamesAreKeptUntilAChange(t *testing.T) {
	ctx := context.Background()
	clock := core.NewVirtualClock(nil)
	t.Cleanup(clock.Close)
	store := &countingStore{Store: tenants.NewMemoryStore()}
	r, err := tenants.New(ctx, tenants.Config{Clock: clock, IDs: core.NewIDs(nil), Fixtures: fixtures.MustDefault(), Store: store})
	if err != nil {
		t.Fatal(err)
	}
	first := r.ClaimNames(ctx)
	for range 3 {
		if got := r.ClaimNames(ctx); !slices.Equal(got, first) {
			t.Fatalf("ClaimNames = %v, then %v", first, got)
		}
	}
	if store.lists != 1 {
		t.Errorf("4 ClaimNames read the tenants %d times, want once", store.lists)
	}
	if _, err := r.Create(ctx, tenants.Spec{ID: "claims-co", Name: "Claims Co", Users: []fixtures.User{{ID: "usr_c", Email: "c@claims.example",
		Name: "C", Role: "investigator", Claims: map[string]any{"zz_badge": "7"}}}}); err != nil {
		t.Fatal(err)
	}
	if got := r.ClaimNames(ctx); !slices.Contains(got, "zz_badge") {
		t.Errorf("after a create ClaimNames = %v, want zz_badge among them", got)
	}
	if err := store.Store.DeleteTenant(ctx, "claims-co"); err != nil { // another process
		t.Fatal(err)
	}
	r.Invalidate()
	if got := r.ClaimNames(ctx); slices.Contains(got, "zz_badge") {
		t.Errorf("after Invalidate ClaimNames = %v, still with zz_badge", got)
	}
}
