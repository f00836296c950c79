package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestPublicClientOpenIDFlow registers a public client where the tenant's
// policy allows it, runs the OpenID Connect code flow with PKCE through
// golang.org/x/oauth2 and go-oidc with no secret, and checks the refusals:
// no PKCE, a tenant without public clients, a grant a public client cannot
// use, and a confidential client without its secret.
func TestPublicClientOpenIDFlow(t *testing.T) {
	e := newSandbox(t)
	register := func(admin string, grants ...string) (*http.Response, map[string]any) {
		body, _ := json.Marshal(map[string]any{"name": "Mobile app", "grant_types": grants,
			"redirect_uris": []string{"http://127.0.0.1/callback"}, "token_endpoint_auth_method": "none"})
		return e.post(t, "/v1/platform/apps", "application/json", admin, string(body))
	}
	resp, app := register("sandbox_admin_acme", "authorization_code", "refresh_token")
	if resp.StatusCode != http.StatusCreated || app["client_secret"] != nil || app["token_endpoint_auth_method"] != "none" {
		t.Fatalf("register a public client: %d %v", resp.StatusCode, app)
	}
	clientID := app["client_id"].(string)

	ctx := context.WithValue(oidc.ClientContext(t.Context(), http.DefaultClient), oauth2.HTTPClient, http.DefaultClient)
	provider, err := oidc.NewProvider(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: clientID, RedirectURL: "http://127.0.0.1:49152/callback", Endpoint: provider.Endpoint(),
		Scopes: []string{oidc.ScopeOpenID, "profile"}}
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	authorize := func(opts ...oauth2.AuthCodeOption) url.Values {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", "bob@acme.example"))
		req, _ := http.NewRequest(http.MethodGet, conf.AuthCodeURL("st", opts...), nil)
		res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		loc, _ := url.Parse(res.Header.Get("Location"))
		return loc.Query()
	}
	if q := authorize(); q.Get("error") != "invalid_request" {
		t.Errorf("a public client without PKCE: %v, want invalid_request", q)
	}
	verifier := oauth2.GenerateVerifier()
	q := authorize(oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-1"))
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange without a secret: %v", err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: clientID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil || idt.Nonce != "nonce-1" || idt.Subject != "usr_acme_bob" {
		t.Fatalf("ID token %+v: %v", idt, err)
	}
	var claims struct{ Roles []string }
	if err := idt.Claims(&claims); err != nil || len(claims.Roles) != 1 || claims.Roles[0] != "supervisor" {
		t.Errorf("custom claims %+v: %v", claims, err)
	}
	// Refresh rotates for a public client too (RFC 9700 §4.14.2).
	resp, out := e.tokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "client_id": {clientID}})
	if resp.StatusCode != http.StatusOK || out["refresh_token"] == tok.RefreshToken || out["id_token"] == nil {
		t.Errorf("public refresh: %d %v", resp.StatusCode, out)
	}
	// A public client cannot revoke or introspect with its client_id only.
	resp, _ = e.post(t, "/v1/oauth/introspect", "application/x-www-form-urlencoded", "", url.Values{"token": {tok.AccessToken}, "client_id": {clientID}}.Encode())
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("introspection by a public client: %d", resp.StatusCode)
	}

	if resp, out := register("sandbox_admin_globex", "authorization_code"); resp.StatusCode != http.StatusForbidden || out["code"] != "public_clients_not_allowed" {
		t.Errorf("globex public client: %d %v", resp.StatusCode, out)
	}
	if resp, out := register("sandbox_admin_acme", "client_credentials"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("public client_credentials app: %d %v", resp.StatusCode, out)
	}
	_, confID, _ := e.createApp(t, "cases:read")
	if resp, out := e.tokenRequest(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {confID}}); resp.StatusCode != http.StatusUnauthorized || out["error"] != "invalid_client" {
		t.Errorf("confidential client without its secret: %d %v", resp.StatusCode, out)
	}
}
