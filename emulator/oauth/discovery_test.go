package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// TestDiscoveryWithGoOIDC finds the JWKS through OpenID discovery and
// verifies access tokens with go-oidc, across a key rotation.
func TestDiscoveryWithGoOIDC(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, e.url)
	if err != nil {
		t.Fatal(err)
	}
	// Access tokens are not ID tokens: their algorithm is the one
	// access_token_signing_alg_values_supported names.
	var meta struct {
		Algs []string `json:"access_token_signing_alg_values_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	verifier := provider.Verifier(&oidc.Config{ClientID: e.url + "/v1/webhooks", Now: e.clock.Now, SupportedSigningAlgs: meta.Algs})
	before := e.clientToken("webhooks:read")
	if _, err := verifier.Verify(ctx, before); err != nil {
		t.Fatal(err)
	}
	kid, err := e.svc.keys.RotateKeys(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	after := e.clientToken("webhooks:read")
	tests := []struct {
		name  string
		token string
	}{
		{"token signed before the rotation", before},
		{"token signed by the new key", after},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := verifier.Verify(ctx, tt.token); err != nil {
				t.Errorf("go-oidc: %v", err)
			}
			if _, err := e.svc.Verifier(ResourceWebhooks).Authenticate(ctx, tt.token); err != nil {
				t.Errorf("sandbox verifier: %v", err)
			}
		})
	}
	if keys := e.jwks(); len(keys) != 2 || keys[0]["kid"] == keys[1]["kid"] || !slices.ContainsFunc(keys, func(k map[string]any) bool { return k["kid"] == kid }) {
		t.Errorf("JWKS after rotation: %v", keys)
	}
	// Once every token of the old key has expired, the key leaves the JWKS.
	e.clock.Advance(AccessTokenTTL + Leeway + time.Second)
	if keys := e.jwks(); len(keys) != 1 || keys[0]["kid"] != kid {
		t.Errorf("JWKS after the old key's tokens expired: %v", keys)
	}
}

// jwks returns the access-token keys of the JWKS: those of ID tokens are
// left out (TestIDTokenKeyRotates covers them).
func (e *env) jwks() []map[string]any {
	e.t.Helper()
	all := e.jwksAll()
	ids, accessAlg := e.idKIDs(), string(e.svc.keys.alg)
	// A retired ID key may be gone from the keyring but still in a stale
	// document: outside RS256 keyrings, the algorithm tells it apart.
	return slices.DeleteFunc(all, func(k map[string]any) bool {
		return slices.Contains(ids, k["kid"].(string)) || accessAlg != IDTokenSigningAlg && k["alg"] == IDTokenSigningAlg
	})
}

// jwksAll returns every key of the JWKS.
func (e *env) jwksAll() []map[string]any {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+"/.well-known/jwks.json", nil)
	res := e.do(req)
	var doc struct{ Keys []map[string]any }
	raw, _ := json.Marshal(res.body)
	_ = json.Unmarshal(raw, &doc)
	return doc.Keys
}

// idKIDs names the ID-token keys the keyring holds, current first.
func (e *env) idKIDs() []string {
	k := e.svc.keys
	k.mu.RLock()
	defer k.mu.RUnlock()
	var out []string
	for _, key := range append([]*signingKey{k.idCurrent}, k.idRetired...) {
		if key != nil {
			out = append(out, key.kid)
		}
	}
	return out
}

// TestJWKSPublishesPublicKeysOnly checks every algorithm's JWKS: no
// private or symmetric members, use sig, alg set.
func TestJWKSPublishesPublicKeysOnly(t *testing.T) {
	for _, alg := range SigningAlgs {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t, withKeys(t, KeyringConfig{SigningAlg: alg}))
			keys := e.jwks()
			if len(keys) != 1 {
				t.Fatalf("keys %v", keys)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
				if _, ok := keys[0][private]; ok {
					t.Errorf("JWKS exposes %q", private)
				}
			}
			if keys[0]["alg"] != alg || keys[0]["use"] != "sig" {
				t.Errorf("key %v", keys[0])
			}
			if _, err := e.svc.Verifier(ResourcePlatform).Authenticate(t.Context(), e.clientToken("")); err != nil {
				t.Errorf("own token refused: %v", err)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		t.Run(path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
			res := e.do(req)
			if res.status != http.StatusOK || res.str("issuer") != e.url || res.str("jwks_uri") != e.url+"/.well-known/jwks.json" {
				t.Fatalf("got %d %s", res.status, res.raw)
			}
			var scopes []string
			for _, s := range res.body["scopes_supported"].([]any) {
				scopes = append(scopes, s.(string))
			}
			if want := []string{"openid", "profile", "email", "cases:read", "cases:write", "webhooks:read", "webhooks:write", "users:read"}; !slices.Equal(scopes, want) {
				t.Errorf("scopes_supported = %v, want the OpenID and published scopes %v", scopes, want)
			}
			if m := res.body["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
				t.Errorf("code_challenge_methods_supported = %v", m)
			}
		})
	}
}

// TestScheduledRotation rotates on the injected clock.
func TestScheduledRotation(t *testing.T) {
	e := newEnv(t, withKeys(t, KeyringConfig{Rotation: 24 * time.Hour}))
	first := e.jwks()[0]["kid"]
	e.clock.Advance(24*time.Hour + time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for e.svc.keys.currentKID() == first {
		if time.Now().After(deadline) {
			t.Fatal("the key did not rotate when the clock reached the period")
		}
		time.Sleep(time.Millisecond) // the timer runs in its own goroutine
	}
}

// TestServiceUsesTheKeyringItIsGiven: a keyring built on its own and
// rotated from outside the service (the control plane, a key fault rule)
// is the one the service signs with and publishes.
func TestServiceUsesTheKeyringItIsGiven(t *testing.T) {
	var keys *Keyring
	e := newEnv(t, func(c *Config) {
		withKeys(t, KeyringConfig{SigningAlg: "EdDSA"})(c)
		keys = c.Keys
	})
	kid, err := keys.RotateKeys(t.Context(), 0)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(e.clientToken(""), ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct{ Alg, Kid string }
	if err := json.Unmarshal(raw, &hdr); err != nil {
		t.Fatal(err)
	}
	if hdr.Alg != "EdDSA" || hdr.Kid != kid {
		t.Errorf("token signed with %s/%s, want EdDSA/%s from the given keyring", hdr.Alg, hdr.Kid, kid)
	}
	if !slices.ContainsFunc(e.jwks(), func(k map[string]any) bool { return k["kid"] == kid }) {
		t.Errorf("JWKS %v lacks the given keyring's key %s", e.jwks(), kid)
	}
}

// TestStaleJWKS keeps serving the pre-rotation document for the window,
// also through a second stale rotation inside it.
func TestStaleJWKS(t *testing.T) {
	e := newEnv(t)
	old := e.jwks()[0]["kid"]
	e.clientToken("") // the old key stays published while its token lives
	kid, err := e.svc.keys.RotateKeys(context.Background(), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	e.clientToken("")
	if keys := e.jwks(); len(keys) != 1 || keys[0]["kid"] != old {
		t.Errorf("stale JWKS not served: %v", keys)
	}
	e.clock.Advance(5 * time.Minute)
	if _, err := e.svc.keys.RotateKeys(context.Background(), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	if keys := e.jwks(); len(keys) != 1 || keys[0]["kid"] != old {
		t.Errorf("a second stale rotation published %v, want only %s", keys, old)
	}
	e.clock.Advance(11 * time.Minute)
	if keys := e.jwks(); len(keys) != 3 || !slices.ContainsFunc(keys, func(k map[string]any) bool { return k["kid"] == kid }) {
		t.Errorf("JWKS after the stale window: %v", keys)
	}
}

// shortLived is a TokenFaults that issues already-expired tokens.
type shortLived struct{}

func (shortLived) AccessTokenLifetime(_ context.Context, t FaultTarget) (time.Duration, string) {
	if t.ClientID == appFull.ClientID {
		return -time.Minute, "expired-tokens"
	}
	return t.TTL, ""
}

func TestTokenFaults(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Faults = shortLived{} })
	res := e.post("/v1/oauth/token", map[string][]string{"grant_type": {"client_credentials"}}, appFull.ClientID+":"+secretFull)
	if res.status != http.StatusOK || res.header.Get(FaultHeader) != "expired-tokens" {
		t.Fatalf("got %d %v %s", res.status, res.header, res.raw)
	}
	if _, err := e.svc.Verifier(ResourcePlatform).Authenticate(t.Context(), res.str("access_token")); err == nil {
		t.Error("a token issued already expired was accepted")
	}
	// RFC 6749 §5.1: expires_in tells the lifetime; 1 is the shortest
	// that clients do not read as "no expiry".
	if got := res.body["expires_in"]; got != 1.0 {
		t.Errorf("expires_in = %v for a token issued already expired, want 1", got)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	_, err := New(Config{Issuer: "ftp://x?y"})
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"Clock", "Fixtures", "Clients", "Issuer"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

func TestNewKeyringReportsEveryProblem(t *testing.T) {
	_, err := NewKeyring(KeyringConfig{SigningAlg: "HS256", Rotation: time.Second})
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{"Clock", "HS256", "KeyRotation"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}
