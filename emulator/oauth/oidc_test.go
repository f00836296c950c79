package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// oidcClaims are the ID token and userinfo claims the tests read.
type oidcClaims struct {
	Sub           string   `json:"sub"`
	Name          string   `json:"name"`
	Locale        string   `json:"locale"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	Nonce         string   `json:"nonce"`
	AuthTime      int64    `json:"auth_time"`
	Roles         []string `json:"roles"`
	Groups        []string `json:"groups"`
}

// TestOpenIDConnectWithGoOIDC runs the OpenID Connect authorization code
// flow as an integrator would: go-oidc discovers the provider and verifies
// the RS256 ID token (issuer, audience, expiry, signature from the JWKS)
// next to ES256 access tokens, the nonce and at_hash are checked, userinfo
// answers the same subject and claims, and a refresh brings a new ID
// token.
func TestOpenIDConnectWithGoOIDC(t *testing.T) {
	e := newEnv(t)
	ctx := oidc.ClientContext(t.Context(), http.DefaultClient)
	ctx = context.WithValue(ctx, oauth2.HTTPClient, http.DefaultClient)
	provider, err := oidc.NewProvider(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	conf := e.authCodeConfig("http://127.0.0.1:53682/callback", oidc.ScopeOpenID, "profile", "email", "cases:read")
	conf.Endpoint = provider.Endpoint()
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	verifier, nonce := oauth2.GenerateVerifier(), "n-0S6_WzA2Mj"
	code := e.code(conf, verifier, oidc.Nonce(nonce))
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		t.Fatalf("no id_token in %+v", tok)
	}
	idv := provider.Verifier(&oidc.Config{ClientID: appFull.ClientID, Now: e.clock.Now})
	idt, err := idv.Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc refuses the ID token: %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	if err := idt.VerifyAccessToken(e.clientToken("")); err == nil {
		t.Error("at_hash matches another access token")
	}
	var c oidcClaims
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	want := oidcClaims{Sub: "usr_acme_alice", Name: "Alice Martin", Locale: "en-US", Email: "alice@acme.example", EmailVerified: true,
		Nonce: nonce, AuthTime: e.clock.Now().Unix(), Roles: []string{"investigator", "case-admin"}, Groups: []string{"fraud-team", "emea"}}
	if !equalClaims(c, want) {
		t.Errorf("ID token claims %+v, want %+v", c, want)
	}
	hdr := joseHeaderOf(t, rawID)
	if hdr.Alg != "RS256" || hdr.Typ != "JWT" || hdr.Kid == "" {
		t.Errorf("ID token header %+v, want RS256, typ JWT and a kid", hdr)
	}
	if hdr := joseHeaderOf(t, tok.AccessToken); hdr.Alg != "ES256" {
		t.Errorf("access token alg %s, want ES256", hdr.Alg)
	}
	// An ID token is no access token.
	if _, err := e.svc.Verifier(ResourcePlatform).Authenticate(ctx, rawID); err == nil {
		t.Error("the ID token was accepted as an access token")
	}

	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatal(err)
	}
	var uc oidcClaims
	if err := ui.Claims(&uc); err != nil {
		t.Fatal(err)
	}
	want.Nonce, want.AuthTime = "", 0
	if ui.Subject != idt.Subject || !ui.EmailVerified || !equalClaims(uc, want) {
		t.Errorf("userinfo %+v (sub %s), want %+v", uc, ui.Subject, want)
	}

	// OpenID Connect Core §12.2: the refreshed ID token keeps sub, aud and
	// auth_time, has no nonce, and binds the new access token.
	e.clock.Advance(10 * time.Minute)
	res := e.post("/v1/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}, appFull.ClientID+":"+secretFull)
	if res.status != http.StatusOK || res.str("id_token") == "" {
		t.Fatalf("refresh: %d %s", res.status, res.raw)
	}
	idt2, err := idv.Verify(ctx, res.str("id_token"))
	if err != nil {
		t.Fatal(err)
	}
	var c2 oidcClaims
	_ = idt2.Claims(&c2)
	if idt2.Subject != idt.Subject || c2.AuthTime != c.AuthTime || c2.Nonce != "" || !idt2.IssuedAt.After(idt.IssuedAt) {
		t.Errorf("refreshed ID token %+v issued %v", c2, idt2.IssuedAt)
	}
	if err := idt2.VerifyAccessToken(res.str("access_token")); err != nil {
		t.Errorf("refreshed at_hash: %v", err)
	}
	// A refresh narrowed to platform scopes gets no ID token.
	res = e.post("/v1/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {res.str("refresh_token")}, "scope": {"cases:read"}}, appFull.ClientID+":"+secretFull)
	if res.status != http.StatusOK || res.body["id_token"] != nil {
		t.Errorf("narrowed refresh: %d %s", res.status, res.raw)
	}
}

func equalClaims(a, b oidcClaims) bool {
	return a.Sub == b.Sub && a.Name == b.Name && a.Locale == b.Locale && a.Email == b.Email && a.EmailVerified == b.EmailVerified &&
		a.Nonce == b.Nonce && a.AuthTime == b.AuthTime && slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Groups, b.Groups)
}

func joseHeaderOf(t *testing.T, token string) joseHeader {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h joseHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestIDTokenClaimsFollowScopes checks OpenID Connect Core §5.4: without
// profile or email their claims stay out, and without openid there is no
// ID token at all; client credentials never get openid.
func TestIDTokenClaimsFollowScopes(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	verifier := oauth2.GenerateVerifier()
	for _, tt := range []struct {
		name   string
		scopes []string
		want   []string // claims present beyond the registered ones
		absent []string
	}{
		{"openid only", []string{"openid"}, nil, []string{"name", "email", "roles", "locale"}},
		{"openid email", []string{"openid", "email"}, []string{"email", "email_verified"}, []string{"name", "roles"}},
		{"openid profile", []string{"openid", "profile"}, []string{"name", "locale", "roles", "groups"}, []string{"email"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conf := e.authCodeConfig("http://127.0.0.1:53682/callback", tt.scopes...)
			tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, http.DefaultClient), e.code(conf, verifier), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Fatal(err)
			}
			claims := payloadOf(t, tok.Extra("id_token").(string))
			for _, k := range append([]string{"iss", "sub", "aud", "exp", "iat", "auth_time", "at_hash"}, tt.want...) {
				if _, ok := claims[k]; !ok {
					t.Errorf("claim %s missing from %v", k, claims)
				}
			}
			for _, k := range append([]string{"nonce"}, tt.absent...) {
				if _, ok := claims[k]; ok {
					t.Errorf("claim %s present in %v", k, claims)
				}
			}
		})
	}
	conf := e.authCodeConfig("http://127.0.0.1:53682/callback", "cases:read")
	tok, err := conf.Exchange(context.WithValue(ctx, oauth2.HTTPClient, http.DefaultClient), e.code(conf, verifier), oauth2.VerifierOption(verifier))
	if err != nil || tok.Extra("id_token") != nil {
		t.Errorf("without openid: %v, id_token %v", err, tok.Extra("id_token"))
	}
	res := e.post("/v1/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, appFull.ClientID+":"+secretFull)
	wantOAuthError(t, res, http.StatusBadRequest, CodeInvalidScope)
	// An app without the authorization_code grant has no OpenID scopes.
	if slices.Contains(e.svc.userGrantable(appMachine), ScopeOpenID) {
		t.Error("a client_credentials-only app may be granted openid")
	}
}

func payloadOf(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestUserInfoErrors checks the RFC 6750 §3 answers of the UserInfo
// endpoint.
func TestUserInfoErrors(t *testing.T) {
	e := newEnv(t)
	verifier := oauth2.GenerateVerifier()
	conf := e.authCodeConfig("http://127.0.0.1:53682/callback", "cases:read")
	noOpenID, err := conf.Exchange(context.WithValue(t.Context(), oauth2.HTTPClient, http.DefaultClient), e.code(conf, verifier), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, method, auth string
		status             int
		code, challenge    string
	}{
		{"no token", http.MethodGet, "", http.StatusUnauthorized, CodeInvalidToken, `Bearer realm="argus"`},
		{"basic scheme", http.MethodGet, "Basic YTpi", http.StatusUnauthorized, CodeInvalidToken, `Bearer realm="argus"`},
		{"forged token", http.MethodGet, "Bearer not.a.token", http.StatusUnauthorized, CodeInvalidToken, `error="invalid_token"`},
		{"client credentials token", http.MethodGet, "Bearer " + e.clientToken(""), http.StatusForbidden, CodeInsufficientScope, `error="insufficient_scope"`},
		{"user token without openid", http.MethodPost, "Bearer " + noOpenID.AccessToken, http.StatusForbidden, CodeInsufficientScope, `scope="openid"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.url+"/v1/oauth/userinfo", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			res := e.do(req)
			if res.status != tt.status || res.str("error") != tt.code || !strings.Contains(res.header.Get("WWW-Authenticate"), tt.challenge) {
				t.Errorf("got %d %s, WWW-Authenticate %q", res.status, res.raw, res.header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestIDTokenKeyRotates checks the ID-token key is its own RS256 key of
// the JWKS, rotated with the access-token key, and that the retired one
// stays published while an ID token it signed lives.
func TestIDTokenKeyRotates(t *testing.T) {
	e := newEnv(t)
	conf := e.authCodeConfig("http://127.0.0.1:53682/callback", "openid")
	verifier := oauth2.GenerateVerifier()
	tok, err := conf.Exchange(context.WithValue(t.Context(), oauth2.HTTPClient, http.DefaultClient), e.code(conf, verifier), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	old := joseHeaderOf(t, tok.Extra("id_token").(string)).Kid
	if _, err := e.svc.keys.RotateKeys(t.Context(), 0); err != nil {
		t.Fatal(err)
	}
	ids := e.idKIDs()
	if len(ids) != 2 || ids[0] == old || ids[1] != old {
		t.Fatalf("ID keys after rotation %v, want a new one and %s", ids, old)
	}
	published := func(kid string) bool {
		return slices.ContainsFunc(e.jwksAll(), func(k map[string]any) bool { return k["kid"] == kid && k["alg"] == "RS256" })
	}
	if !published(ids[0]) || !published(old) {
		t.Errorf("JWKS %v lacks an ID key", e.jwksAll())
	}
	e.clock.Advance(AccessTokenTTL + Leeway + time.Second)
	if published(old) || !published(ids[0]) {
		t.Errorf("JWKS after the old ID token expired: %v", e.jwksAll())
	}
}

// TestRequirePKCE checks the OAuth 2.1 switch: an authorization request
// without code_challenge is redirected with invalid_request.
func TestRequirePKCE(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.RequirePKCE = true })
	conf := e.authCodeConfig("http://127.0.0.1:53682/callback", "cases:read")
	q := e.authorize(conf.AuthCodeURL("st4te", oauth2.SetAuthURLParam("login_hint", "alice@acme.example")))
	if q.Get("error") != CodeInvalidRequest || !strings.Contains(q.Get("error_description"), "code_challenge") || q.Get("state") != "st4te" {
		t.Errorf("authorization response %v, want invalid_request for the missing code_challenge", q)
	}
	if code := e.code(conf, oauth2.GenerateVerifier()); code == "" {
		t.Error("a request with PKCE was refused")
	}
}
