package oauth

import (
	"net/http"
	"net/url"
	"testing"

	"golang.org/x/oauth2"
)

// grantTokens runs the authorization code flow for appFull and returns
// the token response.
func (e *env) grantTokens(scopes ...string) result {
	e.t.Helper()
	conf := e.authCodeConfig("https://app.acme.example/callback", scopes...)
	verifier := oauth2.GenerateVerifier()
	code := e.code(conf, verifier)
	res := e.post("/v1/oauth/token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {conf.RedirectURL}, "code_verifier": {verifier}}, appFull.ClientID+":"+secretFull)
	if res.status != http.StatusOK {
		e.t.Fatalf("exchange: %d %s", res.status, res.raw)
	}
	return res
}

func refreshForm(rt string, extra ...string) url.Values {
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

func TestRefreshErrors(t *testing.T) {
	e := newEnv(t)
	full := appFull.ClientID + ":" + secretFull
	tests := []struct {
		name     string
		form     func(rt string) url.Values
		basic    string
		wantCode string
	}{
		{"scope escalation beyond the grant", func(rt string) url.Values { return refreshForm(rt, "scope", "cases:read cases:write") }, full, CodeInvalidScope},
		{"another client's refresh token", func(rt string) url.Values { return refreshForm(rt) }, appOther.ClientID + ":" + secretOther, CodeInvalidGrant},
		{"unknown refresh token", func(string) url.Values { return refreshForm("rt_forged") }, full, CodeInvalidGrant},
		{"missing refresh token", func(string) url.Values { return url.Values{"grant_type": {"refresh_token"}} }, full, CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := e.grantTokens("cases:read", "users:read").str("refresh_token")
			wantOAuthError(t, e.post("/v1/oauth/token", tt.form(rt), tt.basic), http.StatusBadRequest, tt.wantCode)
			// A refused attempt by the wrong party does not burn the token.
			if res := e.post("/v1/oauth/token", refreshForm(rt), full); res.status != http.StatusOK {
				t.Errorf("refresh after the refused attempt: %d %s", res.status, res.raw)
			}
		})
	}
}

// TestRefreshNarrowsScope checks that scope can narrow on refresh and that
// the next refresh token still carries the grant's full scope.
func TestRefreshNarrowsScope(t *testing.T) {
	e := newEnv(t)
	full := appFull.ClientID + ":" + secretFull
	first := e.grantTokens("cases:read", "users:read")
	narrow := e.post("/v1/oauth/token", refreshForm(first.str("refresh_token"), "scope", "users:read"), full)
	if narrow.status != http.StatusOK || narrow.str("scope") != "users:read" {
		t.Fatalf("narrow: %d %s", narrow.status, narrow.raw)
	}
	wide := e.post("/v1/oauth/token", refreshForm(narrow.str("refresh_token")), full)
	if wide.status != http.StatusOK || wide.str("scope") != "cases:read users:read" {
		t.Fatalf("next refresh: %d %s", wide.status, wide.raw)
	}
}

// TestRefreshReuseRevokesFamily replays a rotated refresh token: the
// replay fails and every token of the family dies (RFC 9700 §4.14.2).
func TestRefreshReuseRevokesFamily(t *testing.T) {
	e := newEnv(t)
	full := appFull.ClientID + ":" + secretFull
	first := e.grantTokens("cases:read")
	second := e.post("/v1/oauth/token", refreshForm(first.str("refresh_token")), full)
	if second.status != http.StatusOK {
		t.Fatalf("rotation: %d %s", second.status, second.raw)
	}
	verify := e.svc.Verifier(ResourceGraphQL)
	if _, err := verify.Authenticate(t.Context(), second.str("access_token")); err != nil {
		t.Fatal(err)
	}
	wantOAuthError(t, e.post("/v1/oauth/token", refreshForm(first.str("refresh_token")), full), http.StatusBadRequest, CodeInvalidGrant)
	for name, tok := range map[string]string{"first access token": first.str("access_token"), "second access token": second.str("access_token")} {
		if _, err := verify.Authenticate(t.Context(), tok); err == nil {
			t.Errorf("%s still accepted after the family was revoked", name)
		}
	}
	wantOAuthError(t, e.post("/v1/oauth/token", refreshForm(second.str("refresh_token")), full), http.StatusBadRequest, CodeInvalidGrant)
}

// TestNoRefreshTokenWithoutGrant checks that an app not approved for
// refresh_token gets none from the code exchange.
func TestNoRefreshTokenWithoutGrant(t *testing.T) {
	e := newEnv(t)
	conf := &oauth2.Config{ClientID: appNoRefresh.ClientID, ClientSecret: "sk_norefresh_secret_0123456789abcd",
		RedirectURL: "https://norefresh.acme.example/cb",
		Endpoint:    oauth2.Endpoint{AuthURL: e.url + "/v1/oauth/authorize", TokenURL: e.url + "/v1/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	verifier := oauth2.GenerateVerifier()
	code := e.code(conf, verifier)
	tok, err := conf.Exchange(t.Context(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" {
		t.Error("refresh token issued to an app without the refresh_token grant")
	}
}
