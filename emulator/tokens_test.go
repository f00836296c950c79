package emulator_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// call sends a request with an optional JSON body to the sandbox.
func (e *sandboxEnv) call(t *testing.T, method, path, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	ctype := ""
	if body != "" {
		ctype = "application/json"
	}
	return e.send(t, method, path, ctype, token, body)
}

// control sends a control-plane request and fails the test unless it
// succeeds.
func (e *sandboxEnv) control(t *testing.T, path, body string) map[string]any {
	t.Helper()
	resp, out := e.post(t, path, "application/json", "", body)
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %d %v", path, body, resp.StatusCode, out)
	}
	return out
}

// createApp registers an acme client-credentials app with scopes.
func (e *sandboxEnv) createApp(t *testing.T, scopes ...string) (appID, clientID, secret string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": "Token test", "grant_types": []string{"client_credentials"}, "requested_scopes": scopes})
	resp, app := e.post(t, "/v1/platform/apps", "application/json", "sandbox_admin_acme", string(body))
	if resp.StatusCode != 201 {
		t.Fatalf("create app: %d %v", resp.StatusCode, app)
	}
	return app["id"].(string), app["client_id"].(string), app["client_secret"].(string)
}

func (e *sandboxEnv) tokenRequest(t *testing.T, form url.Values) (*http.Response, map[string]any) {
	t.Helper()
	return e.post(t, "/v1/oauth/token", "application/x-www-form-urlencoded", "", form.Encode())
}

// status answers the status of an authenticated read of the platform API.
func (e *sandboxEnv) status(t *testing.T, token string) int {
	t.Helper()
	resp, _ := e.call(t, http.MethodGet, "/v1/platform/scopes", token, "")
	return resp.StatusCode
}

// TestStaleJWKSHidesTheNewKey: a rotation with stale_jwks, from the
// control plane or from a rotate_keys fault, keeps serving the key set of
// before it: a verifier that trusts the published JWKS refuses tokens of
// the new key until the window ends on the sandbox clock.
func TestStaleJWKSHidesTheNewKey(t *testing.T) {
	tests := []struct {
		name   string
		rotate func(e *sandboxEnv, t *testing.T)
	}{
		{"control plane", func(e *sandboxEnv, t *testing.T) {
			e.control(t, "/_sandbox/keys/rotate", `{"stale_jwks":"30s"}`)
		}},
		{"rotate_keys fault", func(e *sandboxEnv, t *testing.T) {
			e.control(t, "/_sandbox/faults", `{"name":"rotate","match":{"operation":"listScopes"},"when":{"first":1},"action":{"rotate_keys":{"stale_jwks":"30s"}}}`)
			if got := e.status(t, "sandbox_admin_acme"); got != 200 {
				t.Fatalf("request firing the rotation: %d", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSandbox(t)
			e.control(t, "/_sandbox/clock", `{"freeze":true}`)
			_, id, secret := e.createApp(t, "webhooks:read")
			form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
			_, before := e.tokenRequest(t, form)
			oldKID := tokenKID(t, before["access_token"].(string))
			tt.rotate(e, t)
			_, after := e.tokenRequest(t, form)
			token := after["access_token"].(string)
			newKID := tokenKID(t, token)
			if newKID == oldKID {
				t.Fatal("the key did not rotate")
			}
			if kids := e.jwksKIDs(t); slices.Contains(kids, newKID) || !slices.Contains(kids, oldKID) {
				t.Errorf("stale JWKS lists %v, want the old kid %s and not the new %s", kids, oldKID, newKID)
			}
			if err := e.verifyWithJWKS(t, token); err == nil {
				t.Error("a verifier trusting the stale JWKS accepted a token of the new key")
			}
			if got := e.status(t, token); got != 200 {
				t.Errorf("the sandbox's own resource servers refused the new key: %d", got)
			}
			e.control(t, "/_sandbox/clock", `{"advance":"30s"}`)
			if kids := e.jwksKIDs(t); !slices.Contains(kids, newKID) {
				t.Errorf("JWKS after the stale window lists %v, want %s", kids, newKID)
			}
			if err := e.verifyWithJWKS(t, token); err != nil {
				t.Errorf("after the stale window: %v", err)
			}
		})
	}
}

func tokenKID(t *testing.T, token string) string {
	t.Helper()
	head, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func (e *sandboxEnv) jwksKIDs(t *testing.T) []string {
	t.Helper()
	set, err := jwk.Fetch(t.Context(), e.url+"/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		kids = append(kids, k.KeyID())
	}
	return kids
}

// verifyWithJWKS verifies token as an integrator would: go-oidc's remote
// key set (which refetches the JWKS on an unknown kid), then jwx with the
// fetched set and the claim checks.
func (e *sandboxEnv) verifyWithJWKS(t *testing.T, token string) error {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), http.DefaultClient)
	if _, err := oidc.NewRemoteKeySet(ctx, e.url+"/.well-known/jwks.json").VerifySignature(ctx, token); err != nil {
		return err
	}
	set, err := jwk.Fetch(ctx, e.url+"/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	_, err = jwt.ParseString(token, jwt.WithKeySet(set), jwt.WithIssuer(e.url), jwt.WithAudience(e.url+"/v1/platform"),
		jwt.WithClock(jwt.ClockFunc(e.sb.Clock().Now)))
	return err
}

// TestTokenExpiryFaultTellsTheLifetime: under a token_expiry fault the
// token response's expires_in follows the token's exp, and 1 for a token
// issued already expired.
func TestTokenExpiryFaultTellsTheLifetime(t *testing.T) {
	tests := []struct {
		name        string
		expiresIn   string
		wantSeconds float64
		wantValid   bool
	}{
		{"shorter lifetime", "5m", 300, true},
		{"already expired", "-1m", 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newSandbox(t)
			e.control(t, "/_sandbox/clock", `{"freeze":true}`)
			e.control(t, "/_sandbox/faults", `{"name":"short","action":{"token_expiry":{"expires_in":"`+tt.expiresIn+`"}}}`)
			_, id, secret := e.createApp(t, "webhooks:read")
			resp, tok := e.tokenRequest(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
			if resp.StatusCode != 200 || resp.Header.Get("X-Sandbox-Fault") != "short" {
				t.Fatalf("token: %d %v", resp.StatusCode, tok)
			}
			if tok["expires_in"] != tt.wantSeconds {
				t.Errorf("expires_in = %v, want %v", tok["expires_in"], tt.wantSeconds)
			}
			parsed, err := jwt.ParseString(tok["access_token"].(string), jwt.WithVerify(false), jwt.WithValidate(false))
			if err != nil {
				t.Fatal(err)
			}
			if left := parsed.Expiration().Sub(e.sb.Clock().Now().Truncate(1e9)).Seconds(); tt.wantValid && left != tt.wantSeconds {
				t.Errorf("exp is %vs away, expires_in says %v", left, tt.wantSeconds)
			}
			if valid := e.status(t, tok["access_token"].(string)) == 200; valid != tt.wantValid {
				t.Errorf("token accepted = %v, want %v", valid, tt.wantValid)
			}
		})
	}
}

// TestRemovedScopeLeavesIssuedTokens: dropping a scope from an app takes
// it from tokens already issued, at the resource servers and in
// introspection.
func TestRemovedScopeLeavesIssuedTokens(t *testing.T) {
	e := newSandbox(t)
	appID, id, secret := e.createApp(t, "cases:read", "webhooks:read")
	resp, st := e.call(t, http.MethodPost, "/v1/platform/apps/"+appID+"/service-tokens", "sandbox_admin_acme", `{"scopes":["cases:read"],"ttl_seconds":2592000}`)
	if resp.StatusCode != 201 {
		t.Fatalf("service token: %d %v", resp.StatusCode, st)
	}
	service := st["access_token"].(string)
	resp, tok := e.tokenRequest(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	if resp.StatusCode != 200 || tok["scope"] != "cases:read webhooks:read" {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	access := tok["access_token"].(string)
	readCase := func(token string) map[string]any {
		t.Helper()
		resp, out := e.call(t, http.MethodPost, "/v1/graphql", token, `{"query":"{ case(id: \"case_acme_1001\") { id } }"}`)
		if resp.StatusCode != 200 {
			t.Fatalf("graphql: %d %v", resp.StatusCode, out)
		}
		return out
	}
	introspect := func(token string) map[string]any {
		t.Helper()
		_, out := e.post(t, "/v1/oauth/introspect", "application/x-www-form-urlencoded", "",
			url.Values{"token": {token}, "client_id": {id}, "client_secret": {secret}}.Encode())
		return out
	}
	for _, tok := range []string{service, access} {
		if out := readCase(tok); out["errors"] != nil {
			t.Fatalf("reading a case with cases:read: %v", out)
		}
	}
	if resp, out := e.call(t, http.MethodPatch, "/v1/platform/apps/"+appID, "sandbox_admin_acme", `{"requested_scopes":["webhooks:read"]}`); resp.StatusCode != 200 {
		t.Fatalf("patch: %d %v", resp.StatusCode, out)
	}
	for name, tok := range map[string]string{"service token": service, "access token": access} {
		out := readCase(tok)
		errs, _ := out["errors"].([]any)
		if len(errs) != 1 || !strings.Contains(string(mustJSON(t, errs[0])), `"FORBIDDEN"`) {
			t.Errorf("%s read a case after cases:read was removed: %v", name, out)
		}
	}
	if out := introspect(service); out["active"] != false || len(out) != 1 {
		t.Errorf("introspection of a token left with no scope: %v", out)
	}
	if out := introspect(access); out["active"] != true || out["scope"] != "webhooks:read" {
		t.Errorf("introspection of a token that lost one scope: %v", out)
	}
	if got := e.status(t, access); got != 200 {
		t.Errorf("a token keeping webhooks:read lost its access: %d", got)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRevocationOutlivesClockMoves: a revoked access token and a revoked
// service token stay refused from the very next request on, also after
// the clock moved far enough for a token request to prune expired state
// and then went back.
func TestRevocationOutlivesClockMoves(t *testing.T) {
	e := newSandbox(t)
	appID, id, secret := e.createApp(t, "webhooks:read")
	creds := url.Values{"client_id": {id}, "client_secret": {secret}}
	resp, tok := e.tokenRequest(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}})
	if resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	access := tok["access_token"].(string)
	resp, st := e.call(t, http.MethodPost, "/v1/platform/apps/"+appID+"/service-tokens", "sandbox_admin_acme", `{"ttl_seconds":2592000}`)
	if resp.StatusCode != 201 {
		t.Fatalf("service token: %d %v", resp.StatusCode, st)
	}
	service := st["access_token"].(string)
	for name, tok := range map[string]string{"access token": access, "service token": service} {
		if got := e.status(t, tok); got != 200 {
			t.Fatalf("%s before revocation: %d", name, got)
		}
	}

	revoke := url.Values{"token": {access}}
	for k, v := range creds {
		revoke[k] = v
	}
	if resp, out := e.post(t, "/v1/oauth/revoke", "application/x-www-form-urlencoded", "", revoke.Encode()); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d %v", resp.StatusCode, out)
	}
	if resp, out := e.call(t, http.MethodDelete, "/v1/platform/apps/"+appID+"/service-tokens/"+st["id"].(string), "sandbox_admin_acme", ""); resp.StatusCode != 204 {
		t.Fatalf("revoke service token: %d %v", resp.StatusCode, out)
	}
	check := func(when string) {
		t.Helper()
		for name, tok := range map[string]string{"access token": access, "service token": service} {
			if got := e.status(t, tok); got != 401 {
				t.Errorf("revoked %s %s: %d, want 401", name, when, got)
			}
		}
	}
	check("on the next request")
	e.control(t, "/_sandbox/clock", `{"advance":"2h"}`)
	// The token request prunes what expired by the sandbox clock.
	if resp, out := e.tokenRequest(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}); resp.StatusCode != 200 {
		t.Fatalf("token after advancing: %d %v", resp.StatusCode, out)
	}
	e.control(t, "/_sandbox/clock", `{"reset":true}`)
	check("after the clock went back")
}
