package storetest

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/oauth"
	"github.com/knogin/argus-sandbox/internal/racetest"
)

// writers is how many goroutines race in each concurrent case.
const writers = racetest.Writers

var (
	errRedeemed = errors.New("code already redeemed")
	errReused   = errors.New("refresh token already used")
)

func runConcurrency(t *testing.T, newStore func(t *testing.T) oauth.Store) {
	t.Run("a key is created once", func(t *testing.T) { testCreateOnce(t, newStore(t)) })
	t.Run("a code is redeemed once", func(t *testing.T) { testRedeemOnce(t, newStore(t)) })
	t.Run("a refresh token rotates once and every other use is a reuse", func(t *testing.T) { testRotateOnce(t, newStore(t)) })
	t.Run("grant updates lose nothing", func(t *testing.T) { testGrantUpdates(t, newStore(t)) })
	t.Run("a revocation stays final", func(t *testing.T) { testRevocationRace(t, newStore(t)) })
	t.Run("prune beside writers keeps what is live", func(t *testing.T) { testPruneRace(t, newStore(t)) })
}

func testCreateOnce(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	tests := []struct {
		name   string
		create func(i int) error
		owner  func() (string, error)
	}{
		{"code", func(i int) error {
			return s.CreateCode(ctx, oauth.AuthCode{Hash: "h", ClientID: strconv.Itoa(i), Expires: now})
		}, func() (string, error) { c, err := getCode(ctx, s, "h"); return c.ClientID, err }},
		{"grant", func(i int) error {
			return s.CreateGrant(ctx, oauth.Grant{ID: "g", ClientID: strconv.Itoa(i), Expires: now})
		}, func() (string, error) { g, err := s.GetGrant(ctx, "g"); return g.ClientID, err }},
		{"refresh token", func(i int) error {
			return s.CreateRefresh(ctx, oauth.RefreshToken{Hash: "h", ClientID: strconv.Itoa(i), Expires: now})
		}, func() (string, error) { r, err := s.GetRefresh(ctx, "h"); return r.ClientID, err }},
	}
	for _, tt := range tests {
		var wins atomic.Int32
		winner := make(chan int, writers)
		racetest.Run(writers, func(i int) {
			switch err := tt.create(i); {
			case err == nil:
				wins.Add(1)
				winner <- i
			case !errors.Is(err, oauth.ErrExists):
				t.Errorf("%s: %v, want nil or ErrExists", tt.name, err)
			}
		})
		if n := wins.Load(); n != 1 {
			t.Errorf("%s: %d creations succeeded, want 1", tt.name, n)
			continue
		}
		if got, err := tt.owner(); err != nil || got != strconv.Itoa(<-winner) {
			t.Errorf("%s: stored one is %q (%v), not the one that succeeded", tt.name, got, err)
		}
	}
}

// testRedeemOnce is the token endpoint's single use of a code (RFC 6749
// §4.1.2): of many exchanges at once, one redeems it and the rest see it
// redeemed.
func testRedeemOnce(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	if err := s.CreateCode(ctx, sampleCode()); err != nil {
		t.Fatal(err)
	}
	var wins, replays atomic.Int32
	winner := make(chan string, writers)
	racetest.Run(writers, func(i int) {
		grant := "grant_" + strconv.Itoa(i)
		_, err := s.UpdateCode(ctx, "code-hash", func(c *oauth.AuthCode) error {
			if c.Redeemed {
				return errRedeemed
			}
			c.Redeemed, c.GrantID = true, grant
			return nil
		})
		switch {
		case err == nil:
			wins.Add(1)
			winner <- grant
		case errors.Is(err, errRedeemed):
			replays.Add(1)
		default:
			t.Error(err)
		}
	})
	if wins.Load() != 1 || replays.Load() != writers-1 {
		t.Fatalf("%d redemptions and %d replays, want 1 and %d", wins.Load(), replays.Load(), writers-1)
	}
	if c, _ := getCode(ctx, s, "code-hash"); !c.Redeemed || c.GrantID != <-winner {
		t.Errorf("the code records grant %q, not the redemption that succeeded", c.GrantID)
	}
}

// testRotateOnce is refresh token rotation with reuse detection (RFC 9700
// §4.14.2): of many uses at once, one rotates the token, and every other
// one is a reuse that revokes the grant, with its access tokens.
func testRotateOnce(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	_ = s.CreateGrant(ctx, sampleGrant())
	_ = s.CreateRefresh(ctx, sampleRefresh())
	_ = s.PutAccess(ctx, oauth.AccessRecord{JTI: "at", GrantID: "grant_1", Expires: now.Add(time.Hour)})
	var wins, reuses atomic.Int32
	racetest.Run(writers, func(i int) {
		_, err := s.UpdateRefresh(ctx, "rt-hash", func(r *oauth.RefreshToken) error {
			if r.Used {
				return errReused
			}
			r.Used = true
			return nil
		})
		switch {
		case err == nil:
			wins.Add(1)
			if err := s.CreateRefresh(ctx, oauth.RefreshToken{Hash: "rt-next", GrantID: "grant_1", Expires: now.Add(time.Hour)}); err != nil {
				t.Error(err)
			}
		case errors.Is(err, errReused):
			reuses.Add(1)
			if _, err := s.UpdateGrant(ctx, "grant_1", func(g *oauth.Grant) error { g.Revoked = true; return nil }); err != nil {
				t.Error(err)
			}
		default:
			t.Error(err)
		}
	})
	if wins.Load() != 1 || reuses.Load() != writers-1 {
		t.Fatalf("%d rotations and %d reuses, want 1 and %d", wins.Load(), reuses.Load(), writers-1)
	}
	if g, _ := s.GetGrant(ctx, "grant_1"); !g.Revoked {
		t.Error("the reuses did not revoke the grant")
	}
	if active, _ := s.AccessActive(ctx, "at", true); active {
		t.Error("an access token of the revoked grant is active")
	}
	if rt, err := s.GetRefresh(ctx, "rt-hash"); err != nil || !rt.Used {
		t.Errorf("the rotated token is %+v, %v; want used", rt, err)
	}
}

// testGrantUpdates runs read-modify-write updates of one grant at once,
// beside readers: none may be lost.
func testGrantUpdates(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	base := sampleGrant()
	_ = s.CreateGrant(ctx, base)
	racetest.Run(2*writers, func(i int) {
		if i%2 == 1 {
			g, err := s.GetGrant(ctx, base.ID)
			if err != nil {
				t.Error(err)
			}
			for _, sc := range g.Scopes {
				if sc == "" {
					t.Error("a grant read holds an empty scope")
				}
			}
			return
		}
		if _, err := s.UpdateGrant(ctx, base.ID, func(g *oauth.Grant) error {
			g.Scopes = append(g.Scopes, "s"+strconv.Itoa(i))
			g.Expires = g.Expires.Add(time.Second)
			return nil
		}); err != nil {
			t.Error(err)
		}
	})
	g, err := s.GetGrant(ctx, base.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Scopes) != len(base.Scopes)+writers || !g.Expires.Equal(base.Expires.Add(writers*time.Second)) {
		t.Errorf("after %d updates: %d scopes, expires %s; updates were lost", writers, len(g.Scopes), g.Expires)
	}
}

// testRevocationRace writes revoked and live records of one jti at once,
// beside readers: whatever the order, the token ends revoked.
func testRevocationRace(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	racetest.Run(writers, func(i int) {
		var err error
		switch i % 3 {
		case 0:
			err = s.PutAccess(ctx, oauth.AccessRecord{JTI: "at", Revoked: true, KeyGen: 2, Expires: now.Add(time.Hour)})
		case 1:
			err = s.PutAccess(ctx, oauth.AccessRecord{JTI: "at", KeyGen: 1, Expires: now.Add(time.Hour)})
		default:
			_, err = s.AccessActive(ctx, "at", false)
		}
		if err != nil {
			t.Error(err)
		}
	})
	if active, _ := s.AccessActive(ctx, "at", false); active {
		t.Error("a concurrent write undid a revocation")
	}
	s.Prune(now.Add(2*time.Hour), 2) // its key (generation 2) is still in the keyring
	if active, _ := s.AccessActive(ctx, "at", false); active {
		t.Error("the revocation lost its key generation to a concurrent write")
	}
}

// testPruneRace prunes while records are written: every live one is kept.
func testPruneRace(t *testing.T, s oauth.Store) {
	ctx := context.Background()
	live := now.Add(time.Hour)
	racetest.Run(writers, func(i int) {
		key := strconv.Itoa(i)
		if i%5 == 0 {
			s.Prune(now.Add(time.Minute), 1)
			return
		}
		errs := []error{
			s.CreateCode(ctx, oauth.AuthCode{Hash: key, Expires: live}),
			s.CreateCode(ctx, oauth.AuthCode{Hash: "expired" + key, Expires: now.Add(-time.Hour)}),
			s.CreateGrant(ctx, oauth.Grant{ID: key, Expires: live}),
			s.CreateRefresh(ctx, oauth.RefreshToken{Hash: key, GrantID: key, Expires: live}),
			s.PutAccess(ctx, oauth.AccessRecord{JTI: key, GrantID: key, KeyGen: 1, Expires: live}),
		}
		if err := errors.Join(errs...); err != nil {
			t.Error(err)
		}
	})
	for i := range writers {
		if i%5 == 0 {
			continue
		}
		key := strconv.Itoa(i)
		_, errCode := getCode(ctx, s, key)
		_, errGrant := s.GetGrant(ctx, key)
		_, errRefresh := s.GetRefresh(ctx, key)
		active, errAccess := s.AccessActive(ctx, key, true)
		if err := errors.Join(errCode, errGrant, errRefresh, errAccess); err != nil || !active {
			t.Errorf("records %s: active %v, %v; prune dropped a live record", key, active, err)
		}
	}
}
