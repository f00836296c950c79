package oauth

import (
	"net/http"
	"net/url"
	"testing"
	"time"
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
