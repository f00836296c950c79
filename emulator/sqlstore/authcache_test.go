package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/oauth"
	"github.com/knogin/argus-sandbox/emulator/platform"
	"github.com/knogin/argus-sandbox/emulator/sqlstore"
)

// TestRememberedTokenFollowsPrune: an active token's answer is
// remembered (a second read costs no statement), and a prune that forgets
// its grant, on this process or (PostgreSQL) another, turns it inactive at
// the next read after the shared versions; a failed read of the versions
// leaves nothing remembered, and on PostgreSQL a process that never read
// them remembers nothing.
func TestRememberedTokenFollowsPrune(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			var a, b *sqlstore.DB
			var u string
			if e.name == "postgres" {
				u = freshSchema(t)
				a, b = openURL(t, u), openURL(t, u)
			} else {
				a = e.open(t)
				b = a
			}
			now := time.Now()
			if err := a.Platform(platform.Limits{}).CreateApp(ctx, platform.App{ID: "app_1", ClientID: "cli_1", Tenant: "acme", Name: "One"}); err != nil {
				t.Fatal(err)
			}
			if err := a.OAuth().CreateGrant(ctx, oauth.Grant{ID: "g", Tenant: "acme", Expires: now.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if err := a.OAuth().PutAccess(ctx, oauth.AccessRecord{JTI: "at", GrantID: "g", Expires: now.Add(10 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			// read is what a request on b does: the versions, then the token.
			read := func() (bool, int64) {
				t.Helper()
				if _, err := b.Versions(ctx); err != nil {
					t.Fatal(err)
				}
				before := b.RoundTrips()
				active, _, err := b.OAuth().AccessActiveApp(ctx, "at", true, "cli_1")
				if err != nil {
					t.Fatal(err)
				}
				return active, b.RoundTrips() - before
			}
			if active, _ := read(); !active {
				t.Fatal("the token is inactive before the prune")
			}
			if active, n := read(); !active || n != 0 {
				t.Fatalf("the second read: active %v in %d statements, want active in 0", active, n)
			}
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := b.Versions(cancelled); err == nil {
				t.Fatal("a read of the versions with a cancelled context succeeded")
			}
			before := b.RoundTrips()
			if active, _, err := b.OAuth().AccessActiveApp(ctx, "at", true, "cli_1"); err != nil || !active {
				t.Fatalf("after a failed versions read: %v, %v", active, err)
			}
			if n := b.RoundTrips() - before; n != 1 {
				t.Errorf("the read after a failed versions read cost %d statements, want 1", n)
			}
			a.OAuth().Prune(now.Add(3*time.Hour), 0) // the grant expired, the token not
			if active, _ := read(); active {
				t.Error("the token of a pruned grant is still active")
			}
			if e.name != "postgres" {
				return
			}
			c := openURL(t, u)
			if err := a.OAuth().PutAccess(ctx, oauth.AccessRecord{JTI: "at2", Expires: now.Add(10 * time.Hour)}); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				before := c.RoundTrips()
				if active, _, err := c.OAuth().AccessActiveApp(ctx, "at2", true, "cli_1"); err != nil || !active {
					t.Fatalf("AccessActiveApp on a process that never read the versions: %v, %v", active, err)
				}
				if n := c.RoundTrips() - before; n != 1 {
					t.Errorf("a process that never read the versions answered in %d statements, want 1", n)
				}
			}
		})
	}
}

// openURL opens the PostgreSQL database at u, as one more replica.
func openURL(t *testing.T, u string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{DatabaseURL: u})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
