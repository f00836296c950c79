package oauth

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestIntrospection(t *testing.T) {
	e := newEnv(t)
	full := appFull.ClientID + ":" + secretFull
	tests := []struct {
		name       string
		token      func() string
		basic      string
		wantActive bool
		wantType   string
	}{
		{"own access token", func() string { return e.clientToken("cases:read") }, full, true, "Bearer"},
		{"own refresh token", func() string { return e.grantTokens("cases:read").str("refresh_token") }, full, true, "refresh_token"},
		{"another client's token", func() string { return e.clientToken("cases:read") }, appOther.ClientID + ":" + secretOther, false, ""},
		{"revoked token", func() string {
			tok := e.clientToken("cases:read")
			e.post("/v1/oauth/revoke", url.Values{"token": {tok}}, full)
			return tok
		}, full, false, ""},
		{"expired token", func() string {
			tok := e.clientToken("cases:read")
			e.clock.Advance(AccessTokenTTL + Leeway + time.Second)
			return tok
		}, full, false, ""},
		{"rotated refresh token", func() string {
			rt := e.grantTokens("cases:read").str("refresh_token")
			e.post("/v1/oauth/token", refreshForm(rt), full)
			return rt
		}, full, false, ""},
		{"garbage", func() string { return "not-a-token" }, full, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.post("/v1/oauth/introspect", url.Values{"token": {tt.token()}}, tt.basic)
			if res.status != http.StatusOK || res.header.Get("Cache-Control") != "no-store" {
				t.Fatalf("got %d %s", res.status, res.raw)
			}
			if active, _ := res.body["active"].(bool); active != tt.wantActive {
				t.Fatalf("active = %v, want %v: %s", active, tt.wantActive, res.raw)
			}
			if !tt.wantActive && len(res.body) != 1 {
				t.Errorf("an inactive answer leaks details: %s", res.raw)
			}
			if tt.wantActive && (res.str("token_type") != tt.wantType || res.str("client_id") != appFull.ClientID || res.str("tenant") != "acme") {
				t.Errorf("details %s", res.raw)
			}
		})
	}
	t.Run("client authentication required", func(t *testing.T) {
		wantOAuthError(t, e.post("/v1/oauth/introspect", url.Values{"token": {e.clientToken("")}}, ""), http.StatusUnauthorized, CodeInvalidClient)
	})
	t.Run("token required", func(t *testing.T) {
		wantOAuthError(t, e.post("/v1/oauth/introspect", url.Values{}, full), http.StatusBadRequest, CodeInvalidRequest)
	})
}

func TestRevocation(t *testing.T) {
	full := appFull.ClientID + ":" + secretFull
	other := appOther.ClientID + ":" + secretOther
	tests := []struct {
		name string
		// run revokes something and returns the access token to check.
		run         func(e *env) (access string, res result)
		wantRevoked bool
	}{
		{"own access token", func(e *env) (string, result) {
			tok := e.clientToken("cases:read")
			return tok, e.post("/v1/oauth/revoke", url.Values{"token": {tok}, "token_type_hint": {"access_token"}}, full)
		}, true},
		{"refresh token kills the grant's access tokens", func(e *env) (string, result) {
			g := e.grantTokens("cases:read")
			return g.str("access_token"), e.post("/v1/oauth/revoke", url.Values{"token": {g.str("refresh_token")}}, full)
		}, true},
		{"another client's access token is not revoked", func(e *env) (string, result) {
			tok := e.clientToken("cases:read")
			return tok, e.post("/v1/oauth/revoke", url.Values{"token": {tok}}, other)
		}, false},
		{"another client's refresh token is not revoked", func(e *env) (string, result) {
			g := e.grantTokens("cases:read")
			return g.str("access_token"), e.post("/v1/oauth/revoke", url.Values{"token": {g.str("refresh_token")}}, other)
		}, false},
		{"unknown token answers 200", func(e *env) (string, result) {
			return e.clientToken("cases:read"), e.post("/v1/oauth/revoke", url.Values{"token": {"rt_unknown"}, "token_type_hint": {"whatever"}}, full)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			access, res := tt.run(e)
			if res.status != http.StatusOK {
				t.Fatalf("revoke: %d %s", res.status, res.raw)
			}
			_, err := e.svc.Verifier(ResourcePlatform).Authenticate(t.Context(), access)
			if revoked := err != nil; revoked != tt.wantRevoked {
				t.Errorf("revoked = %v, want %v (%v)", revoked, tt.wantRevoked, err)
			}
		})
	}
	t.Run("client authentication required", func(t *testing.T) {
		e := newEnv(t)
		wantOAuthError(t, e.post("/v1/oauth/revoke", url.Values{"token": {"x"}}, appFull.ClientID+":wrong"), http.StatusUnauthorized, CodeInvalidClient)
	})
}

// wallClock is a settable real-time source (Config.WallClock).
type wallClock struct {
	mu  sync.Mutex
	now time.Time
}

func (w *wallClock) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.now
}

func (w *wallClock) advance(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.now = w.now.Add(d)
}

// clockMoves are the ways the sandbox's time can leave a token's lifetime
// and come back into it; each runs a token request, which prunes.
var clockMoves = []struct {
	name string
	move func(e *env, wall *wallClock)
}{
	{"advanced two hours, pruned, reset", func(e *env, _ *wallClock) {
		e.clock.Advance(2 * time.Hour)
		e.clientToken("")
		e.clock.Reset()
	}},
	{"past every expiry in real and sandbox time, pruned, set back", func(e *env, wall *wallClock) {
		start := e.clock.Now()
		e.clock.Advance(31 * 24 * time.Hour)
		wall.advance(31 * 24 * time.Hour)
		e.clientToken("")
		e.clock.Set(start)
	}},
}

func newWallEnv(t *testing.T) (*env, *wallClock) {
	wall := &wallClock{now: time.Now()}
	return newEnv(t, func(c *Config) { c.WallClock = wall.Now }), wall
}

// TestRevocationOutlivesClockMoves: whatever the clock does after a
// revocation, and whatever was pruned meanwhile, the revoked token stays
// refused, by the resource servers and by introspection.
func TestRevocationOutlivesClockMoves(t *testing.T) {
	full := appFull.ClientID + ":" + secretFull
	kinds := []struct {
		name string
		// revoke returns a revoked access token and, for a grant, its
		// refresh token.
		revoke func(e *env) (access, refresh string)
	}{
		{"client token revoked by value", func(e *env) (string, string) {
			tok := e.clientToken("cases:read")
			e.post("/v1/oauth/revoke", url.Values{"token": {tok}}, full)
			return tok, ""
		}},
		{"service token revoked by id", func(e *env) (string, string) {
			tok, id, _, err := e.svc.MintServiceToken(t.Context(), ServiceTokenRequest{Tenant: "acme", AppID: appFull.AppID,
				ClientID: appFull.ClientID, Scopes: []string{"cases:read"}, TTL: 30 * 24 * time.Hour})
			if err != nil {
				e.t.Fatal(err)
			}
			if err := e.svc.RevokeTokenID(t.Context(), id); err != nil {
				e.t.Fatal(err)
			}
			return tok, ""
		}},
		{"user token revoked by value", func(e *env) (string, string) {
			g := e.grantTokens("cases:read")
			e.post("/v1/oauth/revoke", url.Values{"token": {g.str("access_token")}}, full)
			return g.str("access_token"), ""
		}},
		{"token family revoked by its refresh token", func(e *env) (string, string) {
			g := e.grantTokens("cases:read")
			e.post("/v1/oauth/revoke", url.Values{"token": {g.str("refresh_token")}}, full)
			return g.str("access_token"), g.str("refresh_token")
		}},
	}
	for _, kind := range kinds {
		for _, mv := range clockMoves {
			t.Run(kind.name+"/"+mv.name, func(t *testing.T) {
				e, wall := newWallEnv(t)
				access, refresh := kind.revoke(e)
				verify := e.svc.Verifier(ResourceGraphQL)
				if _, err := verify.Authenticate(t.Context(), access); err == nil {
					t.Fatal("accepted on the request after the revocation")
				}
				mv.move(e, wall)
				if _, err := verify.Authenticate(t.Context(), access); err == nil {
					t.Error("the revoked token is accepted again")
				}
				if res := e.post("/v1/oauth/introspect", url.Values{"token": {access}}, full); res.body["active"] != false {
					t.Errorf("introspection: %s", res.raw)
				}
				if refresh != "" {
					wantOAuthError(t, e.post("/v1/oauth/token", refreshForm(refresh), full), http.StatusBadRequest, CodeInvalidGrant)
				}
			})
		}
	}
}

// TestLiveTokensSurviveAClockRoundTrip: moving the clock forward, pruning
// and resetting it must not take anything from tokens still valid in real
// time: they are usable again, as if the clock had never moved.
func TestLiveTokensSurviveAClockRoundTrip(t *testing.T) {
	e, wall := newWallEnv(t)
	full := appFull.ClientID + ":" + secretFull
	client := e.clientToken("cases:read")
	g := e.grantTokens("cases:read")
	clockMoves[0].move(e, wall)
	for name, tok := range map[string]string{"client token": client, "user token": g.str("access_token")} {
		if _, err := e.svc.Verifier(ResourceGraphQL).Authenticate(t.Context(), tok); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if res := e.post("/v1/oauth/token", refreshForm(g.str("refresh_token")), full); res.status != http.StatusOK {
		t.Errorf("refresh: %d %s", res.status, res.raw)
	}
}

// TestRevocationsAreForgottenWithTheirKey: a revocation is kept while a
// key that may have signed the token is published, and forgotten once
// none is (the token can never verify again), so revocations do not
// accumulate across key rotations.
func TestRevocationsAreForgottenWithTheirKey(t *testing.T) {
	e, wall := newWallEnv(t)
	full := appFull.ClientID + ":" + secretFull
	tok := e.clientToken("cases:read")
	e.post("/v1/oauth/revoke", url.Values{"token": {tok}}, full)
	store := e.svc.store.(*MemoryStore)
	revocations := func() int {
		store.mu.RLock()
		defer store.mu.RUnlock()
		return len(store.access)
	}
	pastExpiry := AccessTokenTTL + Leeway + 2*time.Minute
	e.clock.Advance(pastExpiry)
	wall.advance(pastExpiry)
	e.clientToken("")
	if n := revocations(); n != 1 {
		t.Fatalf("%d revocations kept while the key is current, want 1", n)
	}
	if _, err := e.svc.keys.RotateKeys(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	// The old key signed a token a moment ago: it leaves the JWKS once
	// that token has expired too.
	e.clock.Advance(pastExpiry)
	wall.advance(pastExpiry)
	e.clientToken("")
	if n := revocations(); n != 0 {
		t.Errorf("%d revocations kept after their key left the JWKS, want 0", n)
	}
}

// lifetime is a TokenFaults giving every token the same lifetime.
type lifetime time.Duration

func (l lifetime) AccessTokenLifetime(context.Context, FaultTarget) (time.Duration, string) {
	return time.Duration(l), "long-lived"
}

// TestGrantOutlivesItsTokens: a grant lives as long as the longest token
// it issued, even one a fault made outlive the grant's own lifetime, so
// the token does not fail closed for want of its grant while it is valid.
func TestGrantOutlivesItsTokens(t *testing.T) {
	wall := &wallClock{now: time.Now()}
	e := newEnv(t, func(c *Config) { c.WallClock = wall.Now; c.Faults = lifetime(5 * time.Hour) })
	conf := &oauth2.Config{ClientID: appNoRefresh.ClientID, ClientSecret: "sk_norefresh_secret_0123456789abcd",
		RedirectURL: "https://norefresh.acme.example/cb",
		Endpoint:    oauth2.Endpoint{AuthURL: e.url + "/v1/oauth/authorize", TokenURL: e.url + "/v1/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(t.Context(), e.code(conf, verifier), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Hour)
	wall.advance(2 * time.Hour)
	e.clientToken("") // prunes
	if _, err := e.svc.Verifier(ResourceGraphQL).Authenticate(t.Context(), tok.AccessToken); err != nil {
		t.Errorf("a token valid for 3 more hours: %v", err)
	}
}
