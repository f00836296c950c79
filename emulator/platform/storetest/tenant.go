package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/platform"
)

// runDeleteTenant: DeleteTenant removes one tenant's records (its apps
// too unless keepApps) and leaves every other tenant's as they were.
func runDeleteTenant(t *testing.T, newStore func(t *testing.T, limits platform.Limits) platform.Store) {
	ctx := context.Background()
	fill := func(t *testing.T) platform.Store {
		s := newStore(t, platform.Limits{})
		for _, tenant := range []string{"acme", "globex"} {
			if err := s.CreateApp(ctx, platform.App{ID: "app_" + tenant, ClientID: "cli_" + tenant, Tenant: tenant}); err != nil {
				t.Fatal(err)
			}
			if err := s.AppendAudit(ctx, platform.AuditEvent{ID: "aud_" + tenant, Tenant: tenant, Action: "app.created"}); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateAccessRequest(ctx, platform.AccessRequest{ID: "areq_" + tenant, Tenant: tenant, Capability: "federation",
				Status: platform.RequestSubmitted}); err != nil {
				t.Fatal(err)
			}
			if err := s.CreateEnvironment(ctx, platform.Environment{ID: "env_" + tenant, Tenant: tenant}); err != nil {
				t.Fatal(err)
			}
		}
		return s
	}
	untouched := func(t *testing.T, s platform.Store) {
		t.Helper()
		if _, err := s.GetApp(ctx, "globex", "app_globex"); err != nil {
			t.Errorf("the other tenant's app: %v", err)
		}
		if _, err := s.AppByClientID(ctx, "cli_globex"); err != nil {
			t.Errorf("the other tenant's client id: %v", err)
		}
		if l, _ := allAudit(ctx, s, "globex"); len(l) != 1 {
			t.Errorf("the other tenant's audit trail has %d events, want 1", len(l))
		}
		if _, err := s.AccessRequestByID(ctx, "areq_globex"); err != nil {
			t.Errorf("the other tenant's access request: %v", err)
		}
		if l, _ := s.ListEnvironments(ctx, "globex"); len(l) != 1 {
			t.Errorf("the other tenant has %d environments, want 1", len(l))
		}
	}
	gone := func(t *testing.T, s platform.Store) {
		t.Helper()
		if l, _ := allAudit(ctx, s, "acme"); len(l) != 0 {
			t.Errorf("%d audit events of the deleted tenant remain", len(l))
		}
		if _, err := s.AccessRequestByID(ctx, "areq_acme"); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("the deleted tenant's access request: %v, want ErrNotFound", err)
		}
		if l, _ := s.ListEnvironments(ctx, "acme"); len(l) != 0 {
			t.Errorf("%d environments of the deleted tenant remain", len(l))
		}
	}
	t.Run("everything", func(t *testing.T) {
		s := fill(t)
		if err := s.DeleteTenant(ctx, "acme", false); err != nil {
			t.Fatal(err)
		}
		gone(t, s)
		if _, err := s.GetApp(ctx, "acme", "app_acme"); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("the deleted tenant's app: %v, want ErrNotFound", err)
		}
		if _, err := s.AppByClientID(ctx, "cli_acme"); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("the deleted tenant's client id: %v, want ErrNotFound", err)
		}
		if l, _ := allApps(ctx, s, "acme"); len(l) != 0 {
			t.Errorf("%d apps of the deleted tenant remain", len(l))
		}
		untouched(t, s)
		if err := s.CreateApp(ctx, platform.App{ID: "app_acme", ClientID: "cli_acme", Tenant: "acme"}); err != nil {
			t.Errorf("the app again after the delete: %v", err)
		}
	})
	t.Run("keep apps", func(t *testing.T) {
		s := fill(t)
		if err := s.DeleteTenant(ctx, "acme", true); err != nil {
			t.Fatal(err)
		}
		gone(t, s)
		if _, err := s.AppByClientID(ctx, "cli_acme"); err != nil {
			t.Errorf("keepApps lost the tenant's app: %v", err)
		}
		untouched(t, s)
	})
}
