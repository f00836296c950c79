// Package storetest is the conformance suite every platform.Store
// implementation passes: the in-memory default does, and a durable backend
// is done when it does too.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/platform"
)

// Run runs the suite against stores made by newStore, which returns a new,
// empty store for each subtest (t is that subtest's, for its cleanup)
// enforcing the limits it is given (zero fields: the defaults). Run it with
// -race: some cases have concurrent writers.
func Run(t *testing.T, newStore func(t *testing.T, limits platform.Limits) platform.Store) {
	ctx := context.Background()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	app := platform.App{ID: "app_1", ClientID: "cli_1", Tenant: "acme", Name: "One",
		Scopes: []platform.Item{{Value: "cases:read", Status: platform.Approved}}, CreatedAt: now, UpdatedAt: now}

	t.Run("apps", func(t *testing.T) {
		s := newStore(t, platform.Limits{})
		if err := s.CreateApp(ctx, app); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateApp(ctx, app); !errors.Is(err, platform.ErrConflict) {
			t.Errorf("duplicate create: got %v, want ErrConflict", err)
		}
		got, err := s.GetApp(ctx, "acme", "app_1")
		if err != nil || !cmp.Equal(got, app) {
			t.Errorf("GetApp = %+v, %v; diff %s", got, err, cmp.Diff(app, got))
		}
		if _, err := s.GetApp(ctx, "globex", "app_1"); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("foreign tenant: got %v, want ErrNotFound", err)
		}
		if got, err := s.AppByClientID(ctx, "cli_1"); err != nil || got.ID != "app_1" {
			t.Errorf("AppByClientID = %+v, %v", got, err)
		}
		sameClient := app
		sameClient.ID, sameClient.Tenant = "app_other", "globex"
		if err := s.CreateApp(ctx, sameClient); !errors.Is(err, platform.ErrConflict) {
			t.Errorf("a second app with the same client id: got %v, want ErrConflict", err)
		}
		if list, _ := allApps(ctx, s, "globex"); len(list) != 0 {
			t.Errorf("ListApps of another tenant: %+v", list)
		}
		// A failing update leaves the app unchanged; returned copies are not aliases.
		boom := errors.New("boom")
		if _, err := s.UpdateApp(ctx, "acme", "app_1", func(a *platform.App) error { a.Name = "changed"; return boom }); !errors.Is(err, boom) {
			t.Errorf("update error not returned: %v", err)
		}
		got.Scopes[0].Status = platform.Denied
		if again, _ := s.GetApp(ctx, "acme", "app_1"); again.Name != "One" || again.Scopes[0].Status != platform.Approved {
			t.Errorf("store state leaked or changed: %+v", again)
		}
		if _, err := s.UpdateApp(ctx, "globex", "app_1", func(*platform.App) error { return nil }); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("foreign update: %v", err)
		}
		upd, err := s.UpdateApp(ctx, "acme", "app_1", func(a *platform.App) error { a.Name = "Renamed"; a.ID = "hijack"; return nil })
		if err != nil || upd.Name != "Renamed" || upd.ID != "app_1" {
			t.Errorf("update = %+v, %v", upd, err)
		}
		app2 := app
		app2.ID, app2.ClientID = "app_2", "cli_2"
		_ = s.CreateApp(ctx, app2)
		list, _ := allApps(ctx, s, "acme")
		if len(list) != 2 || list[0].ID != "app_1" || list[1].ID != "app_2" {
			t.Errorf("ListApps order: %+v", list)
		}
		if _, err := s.DeleteApp(ctx, "globex", "app_1"); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("foreign delete: %v", err)
		}
		if _, err := s.DeleteApp(ctx, "acme", "app_1"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeleteApp(ctx, "acme", "app_1"); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
		if _, err := s.AppByClientID(ctx, "cli_1"); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("deleted app still found by client id: %v", err)
		}
		if err := s.Reset(ctx, true); err != nil {
			t.Fatal(err)
		}
		if list, _ := allApps(ctx, s, "acme"); len(list) != 1 {
			t.Errorf("Reset(keepApps) dropped apps: %d", len(list))
		}
		if err := s.Reset(ctx, false); err != nil {
			t.Fatal(err)
		}
		if list, _ := allApps(ctx, s, "acme"); len(list) != 0 {
			t.Errorf("Reset kept apps: %d", len(list))
		}
		if _, err := s.AppByClientID(ctx, "cli_2"); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("Reset kept a client id: %v", err)
		}
		if err := s.CreateApp(ctx, app2); err != nil {
			t.Errorf("CreateApp after Reset: %v", err)
		}
	})

	t.Run("audit and access requests", func(t *testing.T) {
		s := newStore(t, platform.Limits{})
		_ = s.AppendAudit(ctx, platform.AuditEvent{ID: "a1", Tenant: "acme", Action: "app.created"})
		_ = s.AppendAudit(ctx, platform.AuditEvent{ID: "a2", Tenant: "globex", Action: "app.created"})
		if list, _ := allAudit(ctx, s, "acme"); len(list) != 1 || list[0].ID != "a1" {
			t.Errorf("audit isolation: %+v", list)
		}
		ar := platform.AccessRequest{ID: "areq_1", Tenant: "acme", Capability: "federation", Status: platform.RequestSubmitted}
		if err := s.CreateAccessRequest(ctx, ar); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateAccessRequest(ctx, ar); !errors.Is(err, platform.ErrConflict) {
			t.Errorf("duplicate access request: %v, want ErrConflict", err)
		}
		if _, err := s.GetAccessRequest(ctx, "globex", "areq_1"); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("foreign access request: %v", err)
		}
		if got, err := s.AccessRequestByID(ctx, "areq_1"); err != nil || got.Tenant != "acme" {
			t.Errorf("AccessRequestByID = %+v, %v", got, err)
		}
		if _, err := s.AccessRequestByID(ctx, "areq_x"); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("AccessRequestByID of a missing request: %v", err)
		}
		if _, err := s.UpdateAccessRequest(ctx, "areq_x", func(*platform.AccessRequest) error { return nil }); !errors.Is(err, platform.ErrNotFound) {
			t.Errorf("UpdateAccessRequest of a missing request: %v", err)
		}
		boom := errors.New("boom")
		if _, err := s.UpdateAccessRequest(ctx, "areq_1", func(r *platform.AccessRequest) error { r.Status = platform.RequestDenied; return boom }); !errors.Is(err, boom) {
			t.Errorf("update error not returned: %v", err)
		}
		if got, _ := s.GetAccessRequest(ctx, "acme", "areq_1"); got.Status != platform.RequestSubmitted {
			t.Errorf("a failed update changed the request: %+v", got)
		}
		got, err := s.UpdateAccessRequest(ctx, "areq_1", func(r *platform.AccessRequest) error { r.Status = platform.RequestApproved; return nil })
		if err != nil || got.Status != platform.RequestApproved {
			t.Errorf("update request = %+v, %v", got, err)
		}
		if list, _ := s.ListAccessRequests(ctx, "acme"); len(list) != 1 || list[0].Status != platform.RequestApproved {
			t.Errorf("list requests: %+v", list)
		}
		_ = s.Reset(ctx, true)
		if list, _ := s.ListAccessRequests(ctx, "acme"); len(list) != 0 {
			t.Errorf("Reset kept access requests")
		}
		if list, _ := allAudit(ctx, s, "acme"); len(list) != 0 {
			t.Errorf("Reset kept the audit trail")
		}
	})
	t.Run("delete tenant", func(t *testing.T) { runDeleteTenant(t, newStore) })
	t.Run("pages", func(t *testing.T) { runPages(t, newStore) })
	t.Run("limits", func(t *testing.T) { runLimits(t, newStore) })
	t.Run("concurrency", func(t *testing.T) { runConcurrency(t, newStore(t, platform.Limits{SecretsPerApp: 4 * writers}), app) })
}
