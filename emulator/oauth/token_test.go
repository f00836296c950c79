package oauth

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestClientCredentialsWithRealClient drives golang.org/x/oauth2's
// clientcredentials with both client authentication methods, then
// validates the token as an integrator would: jwk.Fetch + jwt.Parse.
func TestClientCredentialsWithRealClient(t *testing.T) {
	e := newEnv(t)
	set, err := jwk.Fetch(t.Context(), e.url+"/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		style     oauth2.AuthStyle
		scopes    []string
		wantScope string
		wantAud   []string
	}{
		{name: "basic, one scope", style: oauth2.AuthStyleInHeader, scopes: []string{"webhooks:write"}, wantScope: "webhooks:write",
			wantAud: []string{e.url + "/v1/platform", e.url + "/v1/webhooks"}},
		{name: "post, scope omitted grants every approved scope", style: oauth2.AuthStyleInParams,
			wantScope: "cases:read cases:write webhooks:read webhooks:write users:read",
			wantAud:   []string{e.url + "/v1/platform", e.url + "/v1/graphql", e.url + "/v1/webhooks"}},
		{name: "cases only", style: oauth2.AuthStyleInHeader, scopes: []string{"cases:read"}, wantScope: "cases:read",
			wantAud: []string{e.url + "/v1/platform", e.url + "/v1/graphql"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := clientcredentials.Config{ClientID: appFull.ClientID, ClientSecret: secretFull,
				TokenURL: e.url + "/v1/oauth/token", Scopes: tt.scopes, AuthStyle: tt.style}
			tok, err := cc.Token(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if tok.RefreshToken != "" {
				t.Error("client_credentials returned a refresh token (RFC 6749 §4.4.3)")
			}
			if got := tok.Extra("scope"); got != tt.wantScope {
				t.Errorf("scope = %v, want %q", got, tt.wantScope)
			}
			if tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
				t.Errorf("token_type %q expiry %v", tok.TokenType, tok.Expiry)
			}
			parsed, err := jwt.ParseString(tok.AccessToken, jwt.WithKeySet(set), jwt.WithIssuer(e.url),
				jwt.WithAudience(e.url+"/v1/platform"), jwt.WithClock(jwt.ClockFunc(e.clock.Now)))
			if err != nil {
				t.Fatal(err)
			}
			msg, err := jws.ParseString(tok.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			hdr := msg.Signatures()[0].ProtectedHeaders()
			if hdr.Type() != "at+jwt" || hdr.KeyID() == "" || hdr.Algorithm().String() != DefaultSigningAlg {
				t.Errorf("header typ=%q kid=%q alg=%q", hdr.Type(), hdr.KeyID(), hdr.Algorithm())
			}
			if got := parsed.Audience(); !sameSet(got, tt.wantAud) {
				t.Errorf("aud = %v, want %v", got, tt.wantAud)
			}
			for claim, want := range map[string]any{"client_id": appFull.ClientID, "tenant": "acme", "scope": tt.wantScope} {
				if got, _ := parsed.Get(claim); got != want {
					t.Errorf("%s = %v, want %v", claim, got, want)
				}
			}
			if parsed.Subject() != appFull.ClientID || len(parsed.JwtID()) < 26 {
				t.Errorf("sub %q jti %q", parsed.Subject(), parsed.JwtID())
			}
			if d := parsed.Expiration().Sub(parsed.IssuedAt()); d != AccessTokenTTL {
				t.Errorf("lifetime %s, want %s", d, AccessTokenTTL)
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestPortalCurlExample sends the developer portal's second curl example
// verbatim apart from the host.
func TestPortalCurlExample(t *testing.T) {
	e := newEnv(t)
	body := "grant_type=client_credentials&client_id=" + appFull.ClientID + "&client_secret=" + secretFull + "&scope=webhooks:write"
	req, _ := http.NewRequest(http.MethodPost, e.url+"/v1/oauth/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res := e.do(req)
	if res.status != http.StatusOK || res.str("scope") != "webhooks:write" || res.str("token_type") != "Bearer" {
		t.Fatalf("got %d %s", res.status, res.raw)
	}
	if res.header.Get("Cache-Control") != "no-store" || res.header.Get("Pragma") != "no-cache" {
		t.Errorf("caching headers %v", res.header)
	}
	if _, ok := res.body["refresh_token"]; ok {
		t.Error("client_credentials returned a refresh token")
	}
}

// TestTokenEndpointErrors checks every refusal of the token endpoint
// against its exact RFC 6749 §5.2 error.
func TestTokenEndpointErrors(t *testing.T) {
	e := newEnv(t)
	full := appFull.ClientID + ":" + secretFull
	cc := func(extra ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Add(extra[i], extra[i+1])
		}
		return v
	}
	tests := []struct {
		name      string
		query     string
		form      url.Values
		basic     string
		wantCode  string
		wantState int
	}{
		{"wrong secret (basic)", "", cc(), appFull.ClientID + ":wrong", CodeInvalidClient, 401},
		{"wrong secret (post)", "", cc("client_id", appFull.ClientID, "client_secret", "wrong"), "", CodeInvalidClient, 401},
		{"unknown client", "", cc(), "app_nobody:whatever", CodeInvalidClient, 401},
		{"no client authentication", "", cc(), "", CodeInvalidClient, 401},
		{"client_id without secret", "", cc("client_id", appFull.ClientID), "", CodeInvalidClient, 401},
		{"two authentication methods", "", cc("client_secret", secretFull), full, CodeInvalidRequest, 400},
		{"secret in the query string", "client_secret=" + secretFull, cc(), full, CodeInvalidRequest, 400},
		{"parameter sent twice", "", cc("scope", "cases:read", "scope", "cases:write"), full, CodeInvalidRequest, 400},
		{"grant_type missing", "", url.Values{"scope": {"cases:read"}}, full, CodeInvalidRequest, 400},
		{"password grant", "", url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"x"}}, full, CodeUnsupportedGrantType, 400},
		{"implicit grant", "", url.Values{"grant_type": {"implicit"}}, full, CodeUnsupportedGrantType, 400},
		{"grant not approved for the app", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"rt_x"}}, "app_machine:sk_machine_secret_0123456789abcdef", CodeUnauthorizedClient, 400},
		{"scope escalation: unapproved published scope", "", cc("scope", "cases:read"), "app_machine:sk_machine_secret_0123456789abcdef", CodeInvalidScope, 400},
		{"scope escalation: partner scope", "", cc("scope", "audit:export"), full, CodeInvalidScope, 400},
		{"unknown scope", "", cc("scope", "everything"), full, CodeInvalidScope, 400},
		{"empty scope", "", cc("scope", ""), full, CodeInvalidScope, 400},
		{"unknown resource", "", cc("resource", "https://evil.example/api"), full, CodeInvalidTarget, 400},
		{"relative resource", "", cc("resource", "/v1/platform"), full, CodeInvalidTarget, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/v1/oauth/token"
			if tt.query != "" {
				path += "?" + tt.query
			}
			res := e.post(path, tt.form, tt.basic)
			wantOAuthError(t, res, tt.wantState, tt.wantCode)
			if tt.wantState == 401 && !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a Basic challenge: %v", res.header)
			}
		})
	}
}

// TestRouterErrorsAreOAuthErrors checks that errors raised before the
// handler (content type, method) keep the RFC 6749 shape.
func TestRouterErrorsAreOAuthErrors(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name       string
		method, ct string
		wantStatus int
	}{
		{"JSON body", http.MethodPost, "application/json", 400},
		{"GET on the token endpoint", http.MethodGet, "", 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.url+"/v1/oauth/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			wantOAuthError(t, e.do(req), tt.wantStatus, CodeInvalidRequest)
		})
	}
}

// TestRotatedSecretGrace checks that a rotated secret works during its
// grace period and fails with invalid_client after it.
func TestRotatedSecretGrace(t *testing.T) {
	e := newEnv(t)
	e.dir.rotate(appFull.ClientID, "sk_new_secret_0123456789abcdefghijk", time.Hour)
	form := url.Values{"grant_type": {"client_credentials"}}
	tests := []struct {
		name     string
		advance  time.Duration
		secret   string
		wantCode string
	}{
		{"new secret", 0, "sk_new_secret_0123456789abcdefghijk", ""},
		{"old secret inside the grace period", 59 * time.Minute, secretFull, ""},
		{"old secret after the grace period", 2 * time.Minute, secretFull, CodeInvalidClient},
		{"new secret still works", 0, "sk_new_secret_0123456789abcdefghijk", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Advance(tt.advance)
			res := e.post("/v1/oauth/token", form, appFull.ClientID+":"+tt.secret)
			if tt.wantCode == "" {
				if res.status != http.StatusOK {
					t.Fatalf("got %d %s", res.status, res.raw)
				}
				return
			}
			wantOAuthError(t, res, http.StatusUnauthorized, tt.wantCode)
		})
	}
}

// TestResourceIndicator checks RFC 8707: the token's aud is exactly the
// requested resource.
func TestResourceIndicator(t *testing.T) {
	e := newEnv(t)
	res := e.post("/v1/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"webhooks:read"},
		"resource": {e.url + "/v1/webhooks"}}, appFull.ClientID+":"+secretFull)
	if res.status != http.StatusOK {
		t.Fatalf("got %d %s", res.status, res.raw)
	}
	at, err := e.svc.parseAccess(res.str("access_token"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(at.Audience, []string{e.url + "/v1/webhooks"}) {
		t.Errorf("aud = %v", at.Audience)
	}
	if _, err := e.svc.Verifier(ResourcePlatform).Authenticate(context.Background(), res.str("access_token")); err == nil {
		t.Error("a token for /v1/webhooks was accepted by /v1/platform")
	}
}
