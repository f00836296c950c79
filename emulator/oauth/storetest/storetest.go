// Package storetest is the conformance suite every oauth.Store
// implementation passes: the in-memory default does, and a durable backend
// is done when it does too.
//
// The store is keyed by values that are unique across tenants (the hash of
// a code or refresh token, a grant ID, a token's jti): the token endpoint
// looks records up before it knows the tenant, so the suite checks that
// each record keeps its tenant rather than tenant-scoped lookups.
package storetest

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/oauth"
)

// Run runs the suite against stores made by newStore, which returns a new,
// empty store for each subtest (t is that subtest's, for its cleanup). Run
// it with -race: several cases have concurrent writers.
func Run(t *testing.T, newStore func(t *testing.T) oauth.Store) {
	t.Run("codes", func(t *testing.T) { testCodes(t, newStore(t)) })
	t.Run("grants", func(t *testing.T) { testGrants(t, newStore(t)) })
	t.Run("refresh tokens", func(t *testing.T) { testRefresh(t, newStore(t)) })
	t.Run("missing records", func(t *testing.T) { testMissing(t, newStore(t)) })
	t.Run("update closures", func(t *testing.T) { testUpdateClosures(t, newStore(t)) })
	t.Run("access records", func(t *testing.T) { testAccess(t, newStore(t)) })
	t.Run("prune", func(t *testing.T) { testPrune(t, newStore(t)) })
	t.Run("revocations outlive expiry until their key is gone", func(t *testing.T) { testRevocationsOutliveExpiry(t, newStore(t)) })
	t.Run("revocations beyond the bound forget the expired first", func(t *testing.T) { testRevocationBound(t, newStore(t)) })
	t.Run("reset", func(t *testing.T) { testReset(t, newStore(t)) })
	t.Run("delete tenant", func(t *testing.T) { testDeleteTenant(t, newStore(t)) })
	t.Run("concurrency", func(t *testing.T) { runConcurrency(t, newStore) })
}

// now is the suite's reference time; stores never read a clock.
var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

var errBoom = errors.New("boom")

func sampleCode() oauth.AuthCode {
	return oauth.AuthCode{Hash: "code-hash", ClientID: "cli_1", Tenant: "acme", UserID: "usr_1",
		RedirectURI: "https://app.example/cb", Challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		Scopes: []string{"cases:read", "cases:write"}, Resources: []string{"https://sandbox.example/v1/graphql"},
		AuthTime: now, Expires: now.Add(oauth.CodeTTL)}
}

func sampleGrant() oauth.Grant {
	return oauth.Grant{ID: "grant_1", Tenant: "acme", ClientID: "cli_1", UserID: "usr_1",
		Scopes: []string{"cases:read"}, Resources: []string{"https://sandbox.example/v1/graphql"},
		AuthTime: now, Expires: now.Add(oauth.RefreshTokenTTL)}
}

func sampleRefresh() oauth.RefreshToken {
	return oauth.RefreshToken{Hash: "rt-hash", GrantID: "grant_1", ClientID: "cli_1",
		IssuedAt: now, Expires: now.Add(oauth.RefreshTokenTTL)}
}

// getCode reads a code: the interface has no getter, since the token
// endpoint only ever redeems one, so a no-op update reads it.
func getCode(ctx context.Context, s oauth.Store, hash string) (oauth.AuthCode, error) {
	return s.UpdateCode(ctx, hash, func(*oauth.AuthCode) error { return nil })
}

func same[V any](t *testing.T, what string, want, got V) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

func testCodes(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	c := sampleCode()
	if err := s.CreateCode(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateCode(ctx, oauth.AuthCode{Hash: c.Hash, Expires: now}); !errors.Is(err, oauth.ErrExists) {
		t.Errorf("CreateCode twice: %v, want ErrExists", err)
	}
	// The caller's slices are not the store's.
	c.Scopes[0] = "mutated"
	got, err := getCode(ctx, s, "code-hash")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "stored code", sampleCode(), got)
	got.Resources[0] = "mutated"
	upd, err := s.UpdateCode(ctx, "code-hash", func(c *oauth.AuthCode) error {
		c.Redeemed, c.GrantID = true, "grant_1"
		return nil
	})
	want := sampleCode()
	want.Redeemed, want.GrantID = true, "grant_1"
	if err != nil {
		t.Fatal(err)
	}
	same(t, "UpdateCode result", want, upd)
	again, _ := getCode(ctx, s, "code-hash")
	same(t, "code after update", want, again)
}

func testGrants(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	g := sampleGrant()
	if err := s.CreateGrant(ctx, g); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGrant(ctx, oauth.Grant{ID: g.ID, Tenant: "globex", Expires: now}); !errors.Is(err, oauth.ErrExists) {
		t.Errorf("CreateGrant twice (another tenant): %v, want ErrExists", err)
	}
	other := oauth.Grant{ID: "grant_2", Tenant: "globex", ClientID: "cli_2", Expires: now.Add(time.Hour)}
	if err := s.CreateGrant(ctx, other); err != nil {
		t.Fatal(err)
	}
	g.Scopes[0] = "mutated"
	got, err := s.GetGrant(ctx, "grant_1")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "stored grant", sampleGrant(), got)
	if got, _ := s.GetGrant(ctx, "grant_2"); got.Tenant != "globex" {
		t.Errorf("grant_2 has tenant %q, want globex", got.Tenant)
	}
	got.Scopes[0] = "mutated"
	upd, err := s.UpdateGrant(ctx, "grant_1", func(g *oauth.Grant) error {
		g.Scopes = append(g.Scopes, "users:read")
		g.Expires = g.Expires.Add(time.Hour)
		return nil
	})
	want := sampleGrant()
	want.Scopes = append(want.Scopes, "users:read")
	want.Expires = want.Expires.Add(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "UpdateGrant result", want, upd)
	again, _ := s.GetGrant(ctx, "grant_1")
	same(t, "grant after update", want, again)
	upd.Scopes[0] = "mutated"
	if again, _ := s.GetGrant(ctx, "grant_1"); again.Scopes[0] != "cases:read" {
		t.Errorf("the result of UpdateGrant aliases the store: %v", again.Scopes)
	}
}

func testRefresh(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	rt := sampleRefresh()
	if err := s.CreateRefresh(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRefresh(ctx, oauth.RefreshToken{Hash: rt.Hash, Expires: now}); !errors.Is(err, oauth.ErrExists) {
		t.Errorf("CreateRefresh twice: %v, want ErrExists", err)
	}
	got, err := s.GetRefresh(ctx, "rt-hash")
	if err != nil {
		t.Fatal(err)
	}
	same(t, "stored refresh token", rt, got)
	upd, err := s.UpdateRefresh(ctx, "rt-hash", func(t *oauth.RefreshToken) error { t.Used = true; return nil })
	rt.Used = true
	if err != nil {
		t.Fatal(err)
	}
	same(t, "UpdateRefresh result", rt, upd)
	again, _ := s.GetRefresh(ctx, "rt-hash")
	same(t, "refresh token after update", rt, again)
}

func testMissing(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	called := false
	tests := []struct {
		name string
		call func() error
	}{
		{"UpdateCode", func() error {
			_, err := s.UpdateCode(ctx, "x", func(*oauth.AuthCode) error { called = true; return nil })
			return err
		}},
		{"GetGrant", func() error { _, err := s.GetGrant(ctx, "x"); return err }},
		{"UpdateGrant", func() error {
			_, err := s.UpdateGrant(ctx, "x", func(*oauth.Grant) error { called = true; return nil })
			return err
		}},
		{"GetRefresh", func() error { _, err := s.GetRefresh(ctx, "x"); return err }},
		{"UpdateRefresh", func() error {
			_, err := s.UpdateRefresh(ctx, "x", func(*oauth.RefreshToken) error { called = true; return nil })
			return err
		}},
	}
	for _, tt := range tests {
		if err := tt.call(); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", tt.name, err)
		}
	}
	if called {
		t.Error("an update closure ran for a missing record")
	}
}

// testUpdateClosures checks that an error from the closure is returned and
// changes nothing, not even through the slices the closure saw.
func testUpdateClosures(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	_ = s.CreateCode(ctx, oauth.AuthCode{Hash: "h", Scopes: []string{"a"}, Expires: now})
	_ = s.CreateGrant(ctx, sampleGrant())
	_ = s.CreateRefresh(ctx, sampleRefresh())
	if _, err := s.UpdateCode(ctx, "h", func(c *oauth.AuthCode) error {
		c.Redeemed, c.Scopes[0] = true, "changed"
		return errBoom
	}); !errors.Is(err, errBoom) {
		t.Errorf("UpdateCode: error %v, want the closure's", err)
	}
	if got, _ := getCode(ctx, s, "h"); got.Redeemed || got.Scopes[0] != "a" {
		t.Errorf("a failed code update leaked: %+v", got)
	}
	if _, err := s.UpdateGrant(ctx, "grant_1", func(g *oauth.Grant) error {
		g.Revoked, g.Scopes[0], g.Resources = true, "changed", nil
		return errBoom
	}); !errors.Is(err, errBoom) {
		t.Errorf("UpdateGrant: error %v, want the closure's", err)
	}
	if got, _ := s.GetGrant(ctx, "grant_1"); !cmp.Equal(got, sampleGrant()) {
		t.Errorf("a failed grant update leaked: %+v", got)
	}
	if _, err := s.UpdateRefresh(ctx, "rt-hash", func(t *oauth.RefreshToken) error {
		t.Used, t.Revoked = true, true
		return errBoom
	}); !errors.Is(err, errBoom) {
		t.Errorf("UpdateRefresh: error %v, want the closure's", err)
	}
	if got, _ := s.GetRefresh(ctx, "rt-hash"); got.Used || got.Revoked {
		t.Errorf("a failed refresh update leaked: %+v", got)
	}
}

func testAccess(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	exp := now.Add(time.Hour)
	_ = s.CreateGrant(ctx, oauth.Grant{ID: "g", Expires: exp})
	puts := []oauth.AccessRecord{
		{JTI: "a1", GrantID: "g", Expires: exp},
		{JTI: "a2", Revoked: true, Expires: exp},
		{JTI: "a2", Expires: exp}, // a revocation is final
		{JTI: "a4", GrantID: "gone", Expires: exp},
		{JTI: "a5", GrantID: "gone", Expires: exp},
		{JTI: "a5", Expires: exp}, // a replacement: no longer bound to a grant
	}
	for _, a := range puts {
		if err := s.PutAccess(ctx, a); err != nil {
			t.Fatalf("PutAccess(%+v): %v", a, err)
		}
	}
	tests := []struct {
		name     string
		jti      string
		recorded bool
		want     bool
	}{
		{"grant token", "a1", true, true},
		{"revoked stays revoked", "a2", false, false},
		{"revoked stays revoked, recorded", "a2", true, false},
		{"unknown", "a3", false, true},
		{"unknown but recorded at issuance", "a3", true, false},
		{"token of a forgotten grant", "a4", true, false},
		{"replaced record", "a5", true, true},
	}
	for _, tt := range tests {
		if got, err := s.AccessActive(ctx, tt.jti, tt.recorded); err != nil || got != tt.want {
			t.Errorf("%s: %v %v, want %v", tt.name, got, err, tt.want)
		}
	}
	_, _ = s.UpdateGrant(ctx, "g", func(g *oauth.Grant) error { g.Revoked = true; return nil })
	if got, _ := s.AccessActive(ctx, "a1", true); got {
		t.Error("token of a revoked grant is active")
	}
}

func testPrune(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	// Expired at now: forgotten once the cutoff passes now + Leeway.
	_ = s.CreateCode(ctx, oauth.AuthCode{Hash: "old", Expires: now})
	_ = s.CreateCode(ctx, oauth.AuthCode{Hash: "new", Expires: now.Add(time.Hour)})
	_ = s.CreateGrant(ctx, oauth.Grant{ID: "old", Expires: now})
	_ = s.CreateGrant(ctx, oauth.Grant{ID: "new", Expires: now.Add(time.Hour)})
	_ = s.CreateRefresh(ctx, oauth.RefreshToken{Hash: "old", Expires: now})
	_ = s.CreateRefresh(ctx, oauth.RefreshToken{Hash: "new", Expires: now.Add(time.Hour)})
	_ = s.PutAccess(ctx, oauth.AccessRecord{JTI: "old", GrantID: "new", Expires: now})
	_ = s.PutAccess(ctx, oauth.AccessRecord{JTI: "new", GrantID: "new", Expires: now.Add(time.Hour)})

	s.Prune(now.Add(oauth.Leeway), 0) // within the leeway: nothing goes
	for _, key := range []string{"old", "new"} {
		if _, err := getCode(ctx, s, key); err != nil {
			t.Errorf("code %s pruned within the leeway: %v", key, err)
		}
	}
	if got, _ := s.AccessActive(ctx, "old", true); !got {
		t.Error("an access record was pruned within the leeway")
	}

	s.Prune(now.Add(oauth.Leeway+time.Minute), 0)
	if _, err := getCode(ctx, s, "old"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("expired code kept: %v", err)
	}
	if _, err := s.GetGrant(ctx, "old"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("expired grant kept: %v", err)
	}
	if _, err := s.GetRefresh(ctx, "old"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("expired refresh token kept: %v", err)
	}
	if got, _ := s.AccessActive(ctx, "old", true); got {
		t.Error("an expired access record was kept")
	}
	if _, err := getCode(ctx, s, "new"); err != nil {
		t.Errorf("live code pruned: %v", err)
	}
	if _, err := s.GetGrant(ctx, "new"); err != nil {
		t.Errorf("live grant pruned: %v", err)
	}
	if _, err := s.GetRefresh(ctx, "new"); err != nil {
		t.Errorf("live refresh token pruned: %v", err)
	}
	if got, _ := s.AccessActive(ctx, "new", true); !got {
		t.Error("a live access record was pruned")
	}
}

func testRevocationsOutliveExpiry(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	_ = s.PutAccess(ctx, oauth.AccessRecord{JTI: "old", Revoked: true, KeyGen: 1, Expires: now})
	_ = s.PutAccess(ctx, oauth.AccessRecord{JTI: "cur", Revoked: true, KeyGen: 2, Expires: now})
	// A replacement does not lower the key generation of a revocation.
	_ = s.PutAccess(ctx, oauth.AccessRecord{JTI: "kept", Revoked: true, KeyGen: 3, Expires: now})
	_ = s.PutAccess(ctx, oauth.AccessRecord{JTI: "kept", KeyGen: 1, Expires: now})
	_ = s.CreateGrant(ctx, oauth.Grant{ID: "g", Expires: now.Add(48 * time.Hour)})
	_ = s.PutAccess(ctx, oauth.AccessRecord{JTI: "grant", GrantID: "g", KeyGen: 2, Expires: now})
	s.Prune(now.Add(time.Hour), 2)
	for jti, want := range map[string]bool{"old": true, "cur": false, "kept": false} {
		if got, _ := s.AccessActive(ctx, jti, false); got != want {
			t.Errorf("%s: active %v, want %v", jti, got, want)
		}
	}
	if got, _ := s.AccessActive(ctx, "grant", true); got {
		t.Error("an expired grant token's record was kept")
	}
}

func testRevocationBound(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	for i := range oauth.MaxRevocations {
		if err := s.PutAccess(ctx, oauth.AccessRecord{JTI: "old" + strconv.Itoa(i), Revoked: true, KeyGen: 1, Expires: now}); err != nil {
			t.Fatalf("PutAccess old%d: %v", i, err)
		}
	}
	if err := s.PutAccess(ctx, oauth.AccessRecord{JTI: "live", Revoked: true, KeyGen: 1, Expires: now.Add(2 * time.Hour)}); err != nil {
		t.Fatalf("PutAccess live: %v", err)
	}
	s.Prune(now.Add(time.Hour), 1)
	if got, err := s.AccessActive(ctx, "live", false); err != nil || got {
		t.Errorf("a revocation of a token still valid was forgotten (active %v, %v)", got, err)
	}
	if got, err := s.AccessActive(ctx, "old0", false); err != nil || !got {
		t.Errorf("over the bound, a revocation of an expired token was kept (active %v, %v)", got, err)
	}
}

func testReset(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	_ = s.CreateCode(ctx, sampleCode())
	_ = s.CreateGrant(ctx, sampleGrant())
	_ = s.CreateRefresh(ctx, sampleRefresh())
	_ = s.PutAccess(ctx, oauth.AccessRecord{JTI: "revoked", Revoked: true, KeyGen: 9, Expires: now.Add(time.Hour)})
	_ = s.PutAccess(ctx, oauth.AccessRecord{JTI: "granted", GrantID: "grant_1", Expires: now.Add(time.Hour)})
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := getCode(ctx, s, "code-hash"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("reset kept a code: %v", err)
	}
	if _, err := s.GetGrant(ctx, "grant_1"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("reset kept a grant: %v", err)
	}
	if _, err := s.GetRefresh(ctx, "rt-hash"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("reset kept a refresh token: %v", err)
	}
	// Forgotten records read as unknown ones.
	if got, _ := s.AccessActive(ctx, "revoked", false); !got {
		t.Error("reset kept a revocation")
	}
	if got, _ := s.AccessActive(ctx, "granted", true); got {
		t.Error("a grant token outlived the reset of its grant")
	}
	// The store is usable again.
	if err := s.CreateCode(ctx, sampleCode()); err != nil {
		t.Errorf("CreateCode after Reset: %v", err)
	}
	if err := s.CreateGrant(ctx, sampleGrant()); err != nil {
		t.Errorf("CreateGrant after Reset: %v", err)
	}
}
