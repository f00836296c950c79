package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/oauth"
)

// testDeleteTenant: DeleteTenant forgets one tenant's codes, grants,
// refresh tokens and grant-bound access records (whose tokens then fail
// closed) and leaves another tenant's as they were.
func testDeleteTenant(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	exp := now.Add(time.Hour)
	for _, tenant := range []string{"acme", "globex"} {
		if err := s.CreateCode(ctx, oauth.AuthCode{Hash: "code-" + tenant, Tenant: tenant, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateGrant(ctx, oauth.Grant{ID: "g-" + tenant, Tenant: tenant, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRefresh(ctx, oauth.RefreshToken{Hash: "rt-" + tenant, GrantID: "g-" + tenant, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutAccess(ctx, oauth.AccessRecord{JTI: "at-" + tenant, GrantID: "g-" + tenant, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		// A rotated refresh token still belongs to its grant.
		if err := s.CreateRefresh(ctx, oauth.RefreshToken{Hash: "rt-used-" + tenant, GrantID: "g-" + tenant, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateRefresh(ctx, "rt-used-"+tenant, func(r *oauth.RefreshToken) error { r.Used = true; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := getCode(ctx, s, "code-acme"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("the deleted tenant's code: %v, want ErrNotFound", err)
	}
	if _, err := s.GetGrant(ctx, "g-acme"); !errors.Is(err, oauth.ErrNotFound) {
		t.Errorf("the deleted tenant's grant: %v, want ErrNotFound", err)
	}
	for _, h := range []string{"rt-acme", "rt-used-acme"} {
		if _, err := s.GetRefresh(ctx, h); !errors.Is(err, oauth.ErrNotFound) {
			t.Errorf("the deleted tenant's refresh token %s: %v, want ErrNotFound", h, err)
		}
	}
	if ok, err := s.AccessActive(ctx, "at-acme", true); err != nil || ok {
		t.Errorf("the deleted tenant's access token is active = %v, %v; want false", ok, err)
	}
	if _, err := getCode(ctx, s, "code-globex"); err != nil {
		t.Errorf("the other tenant's code: %v", err)
	}
	if _, err := s.GetGrant(ctx, "g-globex"); err != nil {
		t.Errorf("the other tenant's grant: %v", err)
	}
	for _, h := range []string{"rt-globex", "rt-used-globex"} {
		if _, err := s.GetRefresh(ctx, h); err != nil {
			t.Errorf("the other tenant's refresh token %s: %v", h, err)
		}
	}
	if ok, err := s.AccessActive(ctx, "at-globex", true); err != nil || !ok {
		t.Errorf("the other tenant's access token is active = %v, %v; want true", ok, err)
	}
}
