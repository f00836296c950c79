package oauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// forge signs claims with key under the given protected headers.
func forge(t *testing.T, alg jwa.SignatureAlgorithm, key any, hdr, claims map[string]any) string {
	t.Helper()
	h := jws.NewHeaders()
	for k, v := range hdr {
		if err := h.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	payload, _ := json.Marshal(claims)
	out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func b64(v any) string {
	raw, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// TestVerifierRefusesForgedTokens checks the RFC 8725 / RFC 9068 rules of
// the shared verifier, one forged token at a time.
func TestVerifierRefusesForgedTokens(t *testing.T) {
	e := newEnv(t)
	cur := e.svc.keys.current
	now := e.clock.Now()
	claims := func(over map[string]any) map[string]any {
		c := map[string]any{"iss": e.url, "sub": appFull.ClientID, "aud": []string{e.url + "/v1/platform", e.url + "/v1/webhooks"},
			"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "nbf": now.Unix(), "jti": "at_forged0000000000000000000",
			"client_id": appFull.ClientID, "scope": "webhooks:read", "tenant": "acme"}
		for k, v := range over {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	ours := map[string]any{"typ": "at+jwt", "kid": cur.kid}
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	attackerJWK, _ := jwk.FromRaw(attacker.Public())
	pubDER, _ := x509.MarshalPKIXPublicKey(cur.priv.Public())
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	tests := []struct {
		name    string
		token   func() string
		wantErr bool
	}{
		{"genuine token", func() string { return forge(t, cur.alg, cur.priv, ours, claims(nil)) }, false},
		{"alg none", func() string {
			return b64(map[string]any{"alg": "none", "typ": "at+jwt", "kid": cur.kid}) + "." + b64(claims(nil)) + "."
		}, true},
		{"HS256 signed with the public key", func() string {
			return forge(t, jwa.HS256, pubPEM, ours, claims(nil))
		}, true},
		{"unknown kid", func() string {
			return forge(t, jwa.ES256, attacker, map[string]any{"typ": "at+jwt", "kid": "attacker"}, claims(nil))
		}, true},
		{"our kid, attacker's key", func() string { return forge(t, jwa.ES256, attacker, ours, claims(nil)) }, true},
		{"attacker key embedded in the jwk header", func() string {
			return forge(t, jwa.ES256, attacker, map[string]any{"typ": "at+jwt", "kid": cur.kid, "jwk": attackerJWK}, claims(nil))
		}, true},
		{"attacker key behind jku", func() string {
			return forge(t, jwa.ES256, attacker, map[string]any{"typ": "at+jwt", "kid": cur.kid, "jku": "https://evil.example/jwks.json"}, claims(nil))
		}, true},
		{"no kid", func() string { return forge(t, cur.alg, cur.priv, map[string]any{"typ": "at+jwt"}, claims(nil)) }, true},
		{"ID-token-shaped (typ JWT)", func() string {
			return forge(t, cur.alg, cur.priv, map[string]any{"typ": "JWT", "kid": cur.kid}, claims(nil))
		}, true},
		{"wrong iss", func() string {
			return forge(t, cur.alg, cur.priv, ours, claims(map[string]any{"iss": "https://evil.example"}))
		}, true},
		{"wrong aud", func() string {
			return forge(t, cur.alg, cur.priv, ours, claims(map[string]any{"aud": []string{e.url + "/v1/graphql"}}))
		}, true},
		{"expired", func() string {
			return forge(t, cur.alg, cur.priv, ours, claims(map[string]any{"exp": now.Add(-time.Minute).Unix()}))
		}, true},
		{"expiry inside the leeway", func() string {
			return forge(t, cur.alg, cur.priv, ours, claims(map[string]any{"exp": now.Add(-Leeway / 2).Unix()}))
		}, false},
		{"iat in the future", func() string {
			return forge(t, cur.alg, cur.priv, ours, claims(map[string]any{"iat": now.Add(time.Hour).Unix()}))
		}, true},
		{"nbf in the future", func() string {
			return forge(t, cur.alg, cur.priv, ours, claims(map[string]any{"nbf": now.Add(time.Hour).Unix()}))
		}, true},
		{"no exp", func() string { return forge(t, cur.alg, cur.priv, ours, claims(map[string]any{"exp": nil})) }, true},
		{"no tenant", func() string { return forge(t, cur.alg, cur.priv, ours, claims(map[string]any{"tenant": nil})) }, true},
		{"tenant not the app's", func() string {
			return forge(t, cur.alg, cur.priv, ours, claims(map[string]any{"tenant": "globex"}))
		}, true},
		{"critical header", func() string {
			return forge(t, cur.alg, cur.priv, map[string]any{"typ": "at+jwt", "kid": cur.kid, "crit": []string{"exp"}}, claims(nil))
		}, true},
		{"not a JWT", func() string { return "sandbox_admin_acme" }, true},
	}
	verify := e.svc.Verifier(ResourceWebhooks)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := verify.Authenticate(t.Context(), tt.token())
			if tt.wantErr {
				if err == nil {
					t.Fatalf("accepted: %+v", p)
				}
				if !strings.Contains(err.Error(), core.ErrInvalidToken.Error()) {
					t.Errorf("error %v does not wrap ErrInvalidToken", err)
				}
				return
			}
			if err != nil || p.ClientID != appFull.ClientID {
				t.Fatalf("refused: %v", err)
			}
		})
	}
}

// TestVerifierLifecycle checks what changes after issuance: expiry on the
// clock, revocation by ID, and a deleted app.
func TestVerifierLifecycle(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *env, tokenID string)
	}{
		{"expired after a clock move", func(e *env, _ string) { e.clock.Advance(AccessTokenTTL + Leeway + time.Second) }},
		{"revoked by its ID", func(e *env, id string) { _ = e.svc.RevokeTokenID(t.Context(), id) }},
		{"app deleted", func(e *env, _ string) { e.dir.remove(appFull.ClientID) }},
		{"service reset", func(e *env, _ string) { e.svc.Reset() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tok, id, exp, err := e.svc.MintServiceToken(t.Context(), ServiceTokenRequest{Tenant: "acme", AppID: appFull.AppID,
				ClientID: appFull.ClientID, Scopes: []string{"webhooks:read"}})
			if err != nil {
				t.Fatal(err)
			}
			if exp.Sub(e.clock.Now()) != AccessTokenTTL {
				t.Errorf("expires %v", exp)
			}
			verify := e.svc.Verifier(e.url + ResourceWebhooks)
			p, err := verify.Authenticate(t.Context(), tok)
			if err != nil || p.TokenID != id || p.Kind != core.KindApp {
				t.Fatalf("fresh service token: %+v %v", p, err)
			}
			tt.change(e, id)
			if _, err := verify.Authenticate(t.Context(), tok); err == nil {
				t.Error("still accepted")
			}
		})
	}
}

// TestResourceServerChallenges checks the RFC 6750 answers a resource
// server gives through the router with the shared verifier.
func TestResourceServerChallenges(t *testing.T) {
	e := newEnv(t)
	withScope := e.clientToken("webhooks:read")
	withoutScope := e.clientToken("webhooks:write")
	tests := []struct {
		name       string
		header     string
		query      string
		wantStatus int
		wantAuth   string
	}{
		{"valid token", "Bearer " + withScope, "", 200, ""},
		{"missing scope", "Bearer " + withoutScope, "", 403, `error="insufficient_scope"`},
		{"forged token", "Bearer " + withScope[:len(withScope)-4] + "AAAA", "", 401, `error="invalid_token"`},
		{"no token", "", "", 401, "Bearer"},
		{"token in the query string", "", "access_token=" + withScope, 400, `error="invalid_request"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.url+"/v1/webhooks/things?"+tt.query, nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			res := e.do(req)
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.raw)
			}
			if got := res.header.Get("WWW-Authenticate"); !strings.Contains(got, tt.wantAuth) {
				t.Errorf("WWW-Authenticate %q, want %q", got, tt.wantAuth)
			}
			if tt.wantStatus == 200 && res.header.Get("X-Principal") != "app acme "+appFull.ClientID {
				t.Errorf("principal %q", res.header.Get("X-Principal"))
			}
		})
	}
}

// TestTokensLoseScopesTheAppLost: a scope taken from an app is taken from
// the tokens it already holds, client, user and refresh tokens alike; a
// token left with none of its scopes is inactive for introspection.
func TestTokensLoseScopesTheAppLost(t *testing.T) {
	e := newEnv(t)
	full := appFull.ClientID + ":" + secretFull
	client := e.clientToken("cases:read webhooks:read")
	user := e.grantTokens("cases:read", "users:read")
	reduced := appFull
	reduced.Scopes = []string{"webhooks:read", "users:read"}
	e.dir.add(reduced, secretFull)

	tests := []struct {
		name, token, want string
	}{
		{"client token", client, "webhooks:read"},
		{"user token", user.str("access_token"), "users:read"},
	}
	for _, tt := range tests {
		p, err := e.svc.Verifier(ResourceGraphQL).Authenticate(t.Context(), tt.token)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := strings.Join(p.Scopes, " "); got != tt.want {
			t.Errorf("%s: principal scopes %q, want %q", tt.name, got, tt.want)
		}
		if res := e.post("/v1/oauth/introspect", url.Values{"token": {tt.token}}, full); res.body["active"] != true || res.str("scope") != tt.want {
			t.Errorf("%s: introspection %s, want scope %q", tt.name, res.raw, tt.want)
		}
	}
	if res := e.post("/v1/oauth/introspect", url.Values{"token": {user.str("refresh_token")}}, full); res.body["active"] != true || res.str("scope") != "users:read" {
		t.Errorf("refresh token: introspection %s, want scope users:read", res.raw)
	}

	reduced.Scopes = []string{"users:read"}
	e.dir.add(reduced, secretFull)
	if res := e.post("/v1/oauth/introspect", url.Values{"token": {client}}, full); res.body["active"] != false || len(res.body) != 1 {
		t.Errorf("a token left with no scope: introspection %s, want inactive", res.raw)
	}
	p, err := e.svc.Verifier(ResourceGraphQL).Authenticate(t.Context(), client)
	if err != nil || len(p.Scopes) != 0 {
		t.Errorf("a token left with no scope: %v %v, want a principal without scopes", p, err)
	}
}
