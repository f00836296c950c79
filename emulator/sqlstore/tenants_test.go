package sqlstore_test

import (
	"context"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/emulator/tenants/storetest"
)

func TestTenantStore(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) tenants.Store { return e.open(t).Tenants() })
		})
	}
}

// TestTenantChangesBumpTheSharedVersion: creating, updating and deleting
// a tenant each move the version replicas check before trusting their
// cached tenants; reading does not.
func TestTenantChangesBumpTheSharedVersion(t *testing.T) {
	ctx := context.Background()
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			db := e.open(t)
			s := db.Tenants()
			last := int64(-1)
			step := func(what string, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				v, err := db.SharedVersion(ctx)
				if err != nil || v <= last {
					t.Errorf("after %s the shared version is %d (%v), want above %d", what, v, err, last)
				}
				last = v
			}
			step("start", nil)
			step("create", s.CreateTenant(ctx, tenants.Tenant{ID: "alpha", Name: "A", AdminTokenDigest: tenants.Digest("a")}))
			_, err := s.UpdateTenant(ctx, "alpha", func(x *tenants.Tenant) error { x.Name = "B"; return nil })
			step("update", err)
			_, _ = s.GetTenant(ctx, "alpha")
			if v, _ := db.SharedVersion(ctx); v != last {
				t.Errorf("a read moved the shared version to %d from %d", v, last)
			}
			step("delete", s.DeleteTenant(ctx, "alpha"))
		})
	}
}
