package oauth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// runStoreSuite is the behaviour every Store implementation must have.
func runStoreSuite(t *testing.T, newStore func() Store) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	t.Run("create twice", func(t *testing.T) {
		s := newStore()
		tests := []struct {
			name   string
			create func() error
		}{
			{"code", func() error { return s.CreateCode(ctx, AuthCode{Hash: "h", Expires: now}) }},
			{"grant", func() error { return s.CreateGrant(ctx, Grant{ID: "g", Expires: now}) }},
			{"refresh", func() error { return s.CreateRefresh(ctx, RefreshToken{Hash: "h", Expires: now}) }},
		}
		for _, tt := range tests {
			if err := tt.create(); err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if err := tt.create(); !errors.Is(err, ErrExists) {
				t.Errorf("%s twice: %v, want ErrExists", tt.name, err)
			}
		}
	})
	t.Run("missing records", func(t *testing.T) {
		s := newStore()
		noop := func(*AuthCode) error { return nil }
		if _, err := s.UpdateCode(ctx, "x", noop); !errors.Is(err, ErrNotFound) {
			t.Errorf("UpdateCode: %v", err)
		}
		if _, err := s.GetGrant(ctx, "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetGrant: %v", err)
		}
		if _, err := s.GetRefresh(ctx, "x"); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetRefresh: %v", err)
		}
	})
	t.Run("failed update changes nothing", func(t *testing.T) {
		s := newStore()
		_ = s.CreateCode(ctx, AuthCode{Hash: "h", Scopes: []string{"a"}, Expires: now})
		boom := errors.New("boom")
		_, err := s.UpdateCode(ctx, "h", func(c *AuthCode) error {
			c.Redeemed, c.Scopes[0] = true, "changed"
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("error %v", err)
		}
		got, _ := s.UpdateCode(ctx, "h", func(*AuthCode) error { return nil })
		if got.Redeemed || got.Scopes[0] != "a" {
			t.Errorf("a failed update leaked: %+v", got)
		}
	})
	t.Run("single redemption under concurrency", func(t *testing.T) {
		s := newStore()
		_ = s.CreateRefresh(ctx, RefreshToken{Hash: "h", Expires: now})
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 16 {
			wg.Go(func() {
				_, err := s.UpdateRefresh(ctx, "h", func(r *RefreshToken) error {
					if r.Used {
						return errRefreshReplay
					}
					r.Used = true
					return nil
				})
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d redemptions succeeded, want 1", wins)
		}
	})
	t.Run("access revocation", func(t *testing.T) {
		s := newStore()
		_ = s.CreateGrant(ctx, Grant{ID: "g", Expires: now.Add(time.Hour)})
		_ = s.PutAccess(ctx, AccessRecord{JTI: "a1", GrantID: "g", Expires: now.Add(time.Hour)})
		_ = s.PutAccess(ctx, AccessRecord{JTI: "a2", Revoked: true, Expires: now.Add(time.Hour)})
		_ = s.PutAccess(ctx, AccessRecord{JTI: "a2", Expires: now.Add(time.Hour)})
		_ = s.PutAccess(ctx, AccessRecord{JTI: "a4", GrantID: "gone", Expires: now.Add(time.Hour)})
		tests := []struct {
			name     string
			jti      string
			recorded bool
			want     bool
		}{
			{"grant token", "a1", true, true},
			{"revoked stays revoked", "a2", false, false},
			{"unknown", "a3", false, true},
			{"unknown but recorded at issuance", "a3", true, false},
			{"token of a forgotten grant", "a4", true, false},
		}
		for _, tt := range tests {
			if got, err := s.AccessActive(ctx, tt.jti, tt.recorded); err != nil || got != tt.want {
				t.Errorf("%s: %v %v, want %v", tt.name, got, err, tt.want)
			}
		}
		_, _ = s.UpdateGrant(ctx, "g", func(g *Grant) error { g.Revoked = true; return nil })
		if got, _ := s.AccessActive(ctx, "a1", true); got {
			t.Error("token of a revoked grant is active")
		}
	})
	t.Run("revocations outlive expiry until their key is gone", func(t *testing.T) {
		s := newStore()
		_ = s.PutAccess(ctx, AccessRecord{JTI: "old", Revoked: true, KeyGen: 1, Expires: now})
		_ = s.PutAccess(ctx, AccessRecord{JTI: "cur", Revoked: true, KeyGen: 2, Expires: now})
		_ = s.CreateGrant(ctx, Grant{ID: "g", Expires: now.Add(48 * time.Hour)})
		_ = s.PutAccess(ctx, AccessRecord{JTI: "grant", GrantID: "g", KeyGen: 2, Expires: now})
		s.Prune(now.Add(time.Hour), 2)
		for jti, want := range map[string]bool{"old": true, "cur": false} {
			if got, _ := s.AccessActive(ctx, jti, false); got != want {
				t.Errorf("%s: active %v, want %v", jti, got, want)
			}
		}
		if got, _ := s.AccessActive(ctx, "grant", true); got {
			t.Error("an expired grant token's record was kept")
		}
	})
	t.Run("revocations beyond the bound forget the expired first", func(t *testing.T) {
		s := newStore()
		for i := range maxRevocations {
			_ = s.PutAccess(ctx, AccessRecord{JTI: fmt.Sprint("old", i), Revoked: true, KeyGen: 1, Expires: now})
		}
		_ = s.PutAccess(ctx, AccessRecord{JTI: "live", Revoked: true, KeyGen: 1, Expires: now.Add(2 * time.Hour)})
		s.Prune(now.Add(time.Hour), 1)
		if got, _ := s.AccessActive(ctx, "live", false); got {
			t.Error("a revocation of a token still valid was forgotten")
		}
		if got, _ := s.AccessActive(ctx, "old0", false); !got {
			t.Error("over the bound, a revocation of an expired token was kept")
		}
	})
	t.Run("prune and reset", func(t *testing.T) {
		s := newStore()
		_ = s.CreateCode(ctx, AuthCode{Hash: "old", Expires: now})
		_ = s.CreateCode(ctx, AuthCode{Hash: "new", Expires: now.Add(time.Hour)})
		s.Prune(now.Add(time.Minute), 0)
		noop := func(*AuthCode) error { return nil }
		if _, err := s.UpdateCode(ctx, "old", noop); !errors.Is(err, ErrNotFound) {
			t.Errorf("expired code kept: %v", err)
		}
		if _, err := s.UpdateCode(ctx, "new", noop); err != nil {
			t.Errorf("live code pruned: %v", err)
		}
		s.Reset()
		if _, err := s.UpdateCode(ctx, "new", noop); !errors.Is(err, ErrNotFound) {
			t.Errorf("reset kept a code: %v", err)
		}
	})
}

func TestMemoryStore(t *testing.T) {
	runStoreSuite(t, func() Store { return NewMemoryStore() })
}
