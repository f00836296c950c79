package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/oauth"
	"github.com/knogin/argus-sandbox/emulator/platform"
)

// TestAccessActiveApp: the verifier's one read answers as AccessActive
// and AppByClientID would, on both engines: for a token unknown (recorded
// or not), revoked, bound to a live, revoked or forgotten grant, with its
// app present or gone; and a changed app is read as changed.
func TestAccessActiveApp(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db := e.open(t)
			st, ps := db.OAuth(), db.Platform(platform.Limits{})
			exp := time.Now().Add(time.Hour)
			app := platform.App{ID: "app_1", ClientID: "cli_1", Tenant: "acme", Name: "One",
				Scopes: []platform.Item{{Value: "cases:read", Status: platform.Approved}}}
			if err := ps.CreateApp(ctx, app); err != nil {
				t.Fatal(err)
			}
			for _, g := range []oauth.Grant{{ID: "g_live", Tenant: "acme", Expires: exp}, {ID: "g_revoked", Tenant: "acme", Expires: exp, Revoked: true}} {
				if err := st.CreateGrant(ctx, g); err != nil {
					t.Fatal(err)
				}
			}
			for _, a := range []oauth.AccessRecord{{JTI: "at_live", GrantID: "g_live", Expires: exp},
				{JTI: "at_revoked", Expires: exp, Revoked: true}, {JTI: "at_grant_revoked", GrantID: "g_revoked", Expires: exp},
				{JTI: "at_grant_gone", GrantID: "g_gone", Expires: exp}} {
				if err := st.PutAccess(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range []struct {
				jti      string
				recorded bool
				want     bool
			}{
				{"at_unknown", false, true}, {"at_unknown", true, false}, {"at_live", true, true},
				{"at_revoked", false, false}, {"at_grant_revoked", true, false}, {"at_grant_gone", true, false},
			} {
				want, err := st.AccessActive(ctx, c.jti, c.recorded)
				if err != nil || want != c.want {
					t.Fatalf("AccessActive(%s, %v) = %v, %v; want %v", c.jti, c.recorded, want, err, c.want)
				}
				active, got, err := st.AccessActiveApp(ctx, c.jti, c.recorded, "cli_1")
				switch {
				case err != nil || active != c.want:
					t.Errorf("AccessActiveApp(%s, %v) = %v, %v; want %v", c.jti, c.recorded, active, err, c.want)
				case active && (got.ID != "app_1" || got.Tenant != "acme" || len(got.Scopes) != 1):
					t.Errorf("AccessActiveApp(%s) app = %+v", c.jti, got)
				}
				if active, _, err := st.AccessActiveApp(ctx, c.jti, c.recorded, "cli_none"); active != c.want || (active && !errors.Is(err, platform.ErrNotFound)) {
					t.Errorf("AccessActiveApp(%s) of no app = %v, %v; want %v with ErrNotFound", c.jti, active, err, c.want)
				}
			}
			// The caller's copy is its own; a change to the app is read.
			_, got, _ := st.AccessActiveApp(ctx, "at_live", true, "cli_1")
			got.Scopes[0].Value = "changed"
			if _, err := ps.UpdateApp(ctx, "acme", "app_1", func(a *platform.App) error { a.Name = "Renamed"; return nil }); err != nil {
				t.Fatal(err)
			}
			_, got, _ = st.AccessActiveApp(ctx, "at_live", true, "cli_1")
			if got.Name != "Renamed" || got.Scopes[0].Value != "cases:read" {
				t.Errorf("after an update the app reads %+v", got)
			}
			if again, _ := ps.AppByClientID(ctx, "cli_1"); again.Name != "Renamed" || again.Scopes[0].Value != "cases:read" {
				t.Errorf("AppByClientID after an update = %+v", again)
			}
		})
	}
}
