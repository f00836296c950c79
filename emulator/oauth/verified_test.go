package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// TestVerifiedTokensRecheckEverythingButTheSignature presents a token
// once (its signature is then remembered) and again after something
// changed: every check but the signature must still apply.
func TestVerifiedTokensRecheckEverythingButTheSignature(t *testing.T) {
	tests := []struct {
		name     string
		resource string
		change   func(e *env, tok string) string
		wantErr  string
	}{
		{"same token again", ResourceWebhooks, func(*env, string) string { return "" }, ""},
		{"expired since", ResourceWebhooks, func(e *env, _ string) string { e.clock.Advance(AccessTokenTTL + Leeway + time.Second); return "" }, "exp"},
		{"other audience", ResourceGraphQL, func(*env, string) string { return "" }, "aud"},
		{"keys replaced", ResourceWebhooks, func(e *env, _ string) string { _ = e.svc.keys.reset(); return "" }, "not in the JWKS"},
		{"revoked since", ResourceWebhooks, func(e *env, tok string) string {
			at, err := e.svc.parseAccess(tok, "")
			if err != nil {
				e.t.Fatal(err)
			}
			if err := e.svc.RevokeTokenID(context.Background(), at.JTI); err != nil {
				e.t.Fatal(err)
			}
			return ""
		}, "revoked"},
		{"app deleted since", ResourceWebhooks, func(e *env, _ string) string { e.dir.remove(appFull.ClientID); return "" }, "no longer exists"},
		{"key retired and its tokens expired", ResourceWebhooks, func(e *env, _ string) string {
			if _, err := e.svc.keys.RotateKeys(context.Background(), 0); err != nil {
				e.t.Fatal(err)
			}
			e.clock.Advance(AccessTokenTTL + Leeway + time.Second)
			return ""
		}, "not in the JWKS"},
		{"payload altered, signature kept", ResourceWebhooks, func(e *env, tok string) string {
			parts := strings.Split(tok, ".")
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil || !strings.Contains(string(payload), "webhooks:read") {
				e.t.Fatalf("payload %s: %v", payload, err)
			}
			forged := strings.Replace(string(payload), "webhooks:read", "webhooks:write", 1)
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
		}, "verif"},
		{"data appended", ResourceWebhooks, func(_ *env, tok string) string { return tok + "A" }, "verif"},
		{"signature altered", ResourceWebhooks, func(_ *env, tok string) string {
			i := strings.LastIndexByte(tok, '.') + 1
			// Another base64url character: the same length, other bits.
			c := byte('A')
			if tok[i] == 'A' {
				c = 'B'
			}
			return tok[:i] + string(c) + tok[i+1:]
		}, "verif"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			tok := e.clientToken("webhooks:read")
			if _, err := e.svc.Verifier(ResourceWebhooks).Authenticate(context.Background(), tok); err != nil {
				t.Fatalf("first presentation: %v", err)
			}
			if _, ok := e.svc.keys.verified.get(tok); !ok {
				t.Fatal("a verified token was not remembered")
			}
			if other := tt.change(e, tok); other != "" {
				tok = other
			}
			_, err := e.svc.Verifier(tt.resource).Authenticate(context.Background(), tok)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("second presentation: %v", err)
				}
				return
			}
			if !errors.Is(err, core.ErrInvalidToken) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want an invalid token error mentioning %q", err, tt.wantErr)
			}
		})
	}
}

func TestVerifiedTokensStayBounded(t *testing.T) {
	var v verifiedTokens
	for i := range maxVerified + 10 {
		v.put(strings.Repeat("x", i+1), nil)
	}
	if n := len(v.tokens); n != maxVerified {
		t.Errorf("remembered %d tokens, want at most %d", n, maxVerified)
	}
}

// TestVerifiedTokensKeepClaimErrors presents twice a well-signed token
// whose claims are unusable: the remembered signature must not let it in.
func TestVerifiedTokensKeepClaimErrors(t *testing.T) {
	e := newEnv(t)
	now := e.clock.Now().Unix()
	payload := fmt.Sprintf(`{"iss":%q,"sub":"cli_x","aud":[%q],"exp":%d,"iat":%d,"jti":"at_x","client_id":7,"tenant":"acme"}`,
		e.svc.issuer, e.svc.resourceID(ResourceWebhooks), now+60, now)
	tok, err := e.svc.keys.current.signCompact([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, err := e.svc.Verifier(ResourceWebhooks).Authenticate(context.Background(), tok)
		if !errors.Is(err, core.ErrInvalidToken) || !strings.Contains(err.Error(), "client_id and tenant") {
			t.Errorf("presentation %d: err = %v", i+1, err)
		}
	}
	if _, ok := e.svc.keys.verified.get(tok); !ok {
		t.Error("the signature check was not remembered")
	}
}

// TestVerifiedTokensConcurrent presents remembered tokens from several
// goroutines while the keys rotate and tokens are revoked (run with
// -race): the shared parsed token and claims are only read.
func TestVerifiedTokensConcurrent(t *testing.T) {
	e := newEnv(t)
	toks := []string{e.clientToken("webhooks:read"), e.clientToken("webhooks:read"), e.clientToken("webhooks:write")}
	verify := e.svc.Verifier(ResourceWebhooks)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				tok := toks[(g+i)%len(toks)]
				p, err := verify.Authenticate(context.Background(), tok)
				if err == nil && (p.ClientID != appFull.ClientID || len(p.Scopes) != 1) {
					t.Errorf("principal %+v", p)
					return
				}
			}
		}()
	}
	for range 5 {
		if _, err := e.svc.keys.RotateKeys(context.Background(), 0); err != nil {
			t.Error(err)
		}
	}
	at, err := e.svc.parseAccess(toks[0], "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RevokeTokenID(context.Background(), at.JTI); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if _, err := verify.Authenticate(context.Background(), toks[0]); err == nil {
		t.Error("a revoked token was accepted")
	}
	if _, err := verify.Authenticate(context.Background(), toks[1]); err != nil {
		t.Errorf("a live token signed with a retired key: %v", err)
	}
}
