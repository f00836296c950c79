package oauth

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// authCodeConfig is appFull's golang.org/x/oauth2 configuration.
func (e *env) authCodeConfig(redirect string, scopes ...string) *oauth2.Config {
	return &oauth2.Config{ClientID: appFull.ClientID, ClientSecret: secretFull, RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: e.url + "/v1/oauth/authorize", TokenURL: e.url + "/v1/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}}
}

// authorize follows GET /authorize to its redirect and returns the
// redirect's query.
func (e *env) authorize(authURL string) url.Values {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, authURL, nil)
	res := e.do(req)
	if res.status != http.StatusFound {
		e.t.Fatalf("authorize: %d %s", res.status, res.raw)
	}
	loc, err := url.Parse(res.header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	return loc.Query()
}

// code runs the headless authorization for alice and returns a code.
func (e *env) code(conf *oauth2.Config, verifier string, opts ...oauth2.AuthCodeOption) string {
	e.t.Helper()
	opts = append(opts, oauth2.SetAuthURLParam("login_hint", "alice@acme.example"))
	if verifier != "" {
		opts = append(opts, oauth2.S256ChallengeOption(verifier))
	}
	q := e.authorize(conf.AuthCodeURL("st4te", opts...))
	if q.Get("code") == "" || q.Get("state") != "st4te" || q.Get("iss") != e.url {
		e.t.Fatalf("authorization response %v", q)
	}
	return q.Get("code")
}

// TestAuthorizationCodeWithRealClient runs the whole delegated flow with
// golang.org/x/oauth2: PKCE S256, exchange, and refresh through the
// TokenSource once the clock has moved past the access token's expiry.
func TestAuthorizationCodeWithRealClient(t *testing.T) {
	e := newEnv(t)
	conf := e.authCodeConfig("http://127.0.0.1:53682/callback", "cases:read", "users:read")
	verifier := oauth2.GenerateVerifier()
	code := e.code(conf, verifier)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, http.DefaultClient)
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" || tok.Extra("scope") != "cases:read users:read" {
		t.Fatalf("token %+v scope %v", tok, tok.Extra("scope"))
	}
	p, err := e.svc.Verifier(ResourceGraphQL).Authenticate(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != "user" || p.UserID != "usr_acme_alice" || p.ClientID != appFull.ClientID || p.Tenant != "acme" {
		t.Errorf("principal %+v", p)
	}
	// The TokenSource refreshes once the token has expired on the clock
	// the client sees; move the server's clock too.
	e.clock.Advance(AccessTokenTTL + time.Minute)
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	ts := conf.TokenSource(ctx, &expired)
	fresh, err := ts.Token()
	if err != nil {
		t.Fatal(err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Fatal("refresh did not rotate the tokens")
	}
	if _, err := e.svc.Verifier(ResourceGraphQL).Authenticate(ctx, fresh.AccessToken); err != nil {
		t.Errorf("refreshed token refused: %v", err)
	}
	if _, err := e.svc.Verifier(ResourceGraphQL).Authenticate(ctx, tok.AccessToken); err == nil {
		t.Error("the first access token is still accepted after the clock moved past its exp")
	}
}

// TestPKCEAppendixB is RFC 7636 Appendix B's test vector.
func TestPKCEAppendixB(t *testing.T) {
	const verifier, want = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if got := s256Challenge(verifier); got != want {
		t.Errorf("challenge = %s, want %s", got, want)
	}
	if !verifierMatches(verifier, want) || verifierMatches(verifier+"x", want) {
		t.Error("verifierMatches disagrees with the vector")
	}
	if got := oauth2.S256ChallengeFromVerifier(verifier); got != want {
		t.Errorf("x/oauth2 agrees? %s", got)
	}
}

func TestValidVerifier(t *testing.T) {
	tests := []struct {
		name string
		v    string
		want bool
	}{
		{"43 characters", strings.Repeat("a", 43), true},
		{"128 characters", strings.Repeat("Z", 128), true},
		{"unreserved punctuation", strings.Repeat("-._~", 11), true},
		{"42 characters", strings.Repeat("a", 42), false},
		{"129 characters", strings.Repeat("a", 129), false},
		{"plus sign", strings.Repeat("a", 42) + "+", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validVerifier(tt.v); got != tt.want {
				t.Errorf("validVerifier = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCodeExchangeErrors checks each refusal of the authorization code
// grant with its exact error.
func TestCodeExchangeErrors(t *testing.T) {
	e := newEnv(t)
	const redirect = "https://app.acme.example/callback"
	conf := e.authCodeConfig(redirect, "cases:read")
	verifier := oauth2.GenerateVerifier()
	full := appFull.ClientID + ":" + secretFull
	exchange := func(code string, extra ...string) url.Values {
		v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	tests := []struct {
		name     string
		pkce     bool
		form     func(code string) url.Values
		basic    string
		advance  time.Duration
		wantCode string
	}{
		{"redirect_uri mismatch", true, func(c string) url.Values {
			return exchange(c, "redirect_uri", "https://app.acme.example/other", "code_verifier", verifier)
		}, full, 0, CodeInvalidGrant},
		{"redirect_uri missing", true, func(c string) url.Values {
			v := exchange(c, "code_verifier", verifier)
			v.Del("redirect_uri")
			return v
		}, full, 0, CodeInvalidRequest},
		{"PKCE mismatch", true, func(c string) url.Values {
			return exchange(c, "code_verifier", oauth2.GenerateVerifier())
		}, full, 0, CodeInvalidGrant},
		{"missing verifier", true, func(c string) url.Values { return exchange(c) }, full, 0, CodeInvalidGrant},
		{"malformed verifier", true, func(c string) url.Values { return exchange(c, "code_verifier", "short") }, full, 0, CodeInvalidRequest},
		{"verifier for a code without challenge (downgrade)", false, func(c string) url.Values {
			return exchange(c, "code_verifier", verifier)
		}, full, 0, CodeInvalidGrant},
		{"code of another client", true, func(c string) url.Values {
			return exchange(c, "code_verifier", verifier)
		}, appOther.ClientID + ":" + secretOther, 0, CodeInvalidGrant},
		{"code expired after 60 s", true, func(c string) url.Values {
			return exchange(c, "code_verifier", verifier)
		}, full, CodeTTL + time.Second, CodeInvalidGrant},
		{"unknown code", true, func(string) url.Values { return exchange("ac_forged", "code_verifier", verifier) }, full, 0, CodeInvalidGrant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := ""
			if tt.pkce {
				v = verifier
			}
			code := e.code(conf, v)
			e.clock.Advance(tt.advance)
			wantOAuthError(t, e.post("/v1/oauth/token", tt.form(code), tt.basic), http.StatusBadRequest, tt.wantCode)
		})
	}
}

// TestCodeReuseRevokesTokens redeems a code twice: the second attempt is
// invalid_grant and revokes what the first one issued (RFC 6749 §4.1.2).
func TestCodeReuseRevokesTokens(t *testing.T) {
	e := newEnv(t)
	conf := e.authCodeConfig("https://app.acme.example/callback", "cases:read")
	verifier := oauth2.GenerateVerifier()
	code := e.code(conf, verifier)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {conf.RedirectURL}, "code_verifier": {verifier}}
	first := e.post("/v1/oauth/token", form, appFull.ClientID+":"+secretFull)
	if first.status != http.StatusOK {
		t.Fatalf("first redemption: %d %s", first.status, first.raw)
	}
	verify := e.svc.Verifier(ResourceGraphQL)
	if _, err := verify.Authenticate(t.Context(), first.str("access_token")); err != nil {
		t.Fatal(err)
	}
	wantOAuthError(t, e.post("/v1/oauth/token", form, appFull.ClientID+":"+secretFull), http.StatusBadRequest, CodeInvalidGrant)
	if _, err := verify.Authenticate(t.Context(), first.str("access_token")); err == nil {
		t.Error("the access token issued from a replayed code is still accepted")
	}
	refresh := e.post("/v1/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.str("refresh_token")}}, appFull.ClientID+":"+secretFull)
	wantOAuthError(t, refresh, http.StatusBadRequest, CodeInvalidGrant)
}

// TestAuthorizeRequestErrors checks the authorization endpoint: client
// and redirect URI errors are shown, never redirected; others are
// redirected with the state.
func TestAuthorizeRequestErrors(t *testing.T) {
	e := newEnv(t)
	base := func(extra ...string) string {
		q := url.Values{"response_type": {"code"}, "client_id": {appFull.ClientID}, "redirect_uri": {"https://app.acme.example/callback"},
			"state": {"xyz"}, "login_hint": {"alice@acme.example"}}
		for i := 0; i+1 < len(extra); i += 2 {
			if extra[i+1] == "" {
				q.Del(extra[i])
			} else {
				q.Set(extra[i], extra[i+1])
			}
		}
		return e.url + "/v1/oauth/authorize?" + q.Encode()
	}
	tests := []struct {
		name       string
		url        string
		wantStatus int
		wantError  string // redirected error; empty for a shown page
		wantTo     string
	}{
		{"unknown client", base("client_id", "app_nobody"), 400, "", ""},
		{"missing client_id", base("client_id", ""), 400, "", ""},
		{"unregistered redirect_uri", base("redirect_uri", "https://evil.example/callback"), 400, "", ""},
		{"redirect_uri differing by path", base("redirect_uri", "https://app.acme.example/callback/x"), 400, "", ""},
		{"non-loopback redirect_uri on another port", base("redirect_uri", "https://app.acme.example:8443/callback"), 400, "", ""},
		{"missing redirect_uri", base("redirect_uri", ""), 400, "", ""},
		{"implicit response type", base("response_type", "token"), 302, CodeUnsupportedResponseType, "https://app.acme.example/callback"},
		{"plain PKCE", base("code_challenge", strings.Repeat("a", 43), "code_challenge_method", "plain"), 302, CodeInvalidRequest, "https://app.acme.example/callback"},
		{"challenge without method", base("code_challenge", strings.Repeat("a", 43)), 302, CodeInvalidRequest, "https://app.acme.example/callback"},
		{"unapproved scope", base("scope", "audit:export"), 302, CodeInvalidScope, "https://app.acme.example/callback"},
		{"unknown login_hint", base("login_hint", "mallory@acme.example"), 302, CodeInvalidRequest, "https://app.acme.example/callback"},
		{"user of another tenant", base("login_hint", "dana@globex.example"), 302, CodeInvalidRequest, "https://app.acme.example/callback"},
		{"loopback redirect on any port", base("redirect_uri", "http://127.0.0.1:61234/callback"), 302, "", "http://127.0.0.1:61234/callback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, tt.url, nil)
			res := e.do(req)
			if res.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", res.status, tt.wantStatus, res.raw)
			}
			if tt.wantStatus != http.StatusFound {
				if loc := res.header.Get("Location"); loc != "" || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") {
					t.Errorf("an untrusted request was redirected to %q or not shown as HTML", loc)
				}
				return
			}
			loc, _ := url.Parse(res.header.Get("Location"))
			q := loc.Query()
			if got := loc.Scheme + "://" + loc.Host + loc.Path; got != tt.wantTo {
				t.Errorf("redirected to %s, want %s", got, tt.wantTo)
			}
			if q.Get("error") != tt.wantError || q.Get("state") != "xyz" {
				t.Errorf("redirect query %v, want error=%q and the state", q, tt.wantError)
			}
			if tt.wantError == "" && q.Get("code") == "" {
				t.Errorf("no code in %v", q)
			}
		})
	}
}

// TestBrowserSignInAndConsent walks the HTML pages as a browser would.
func TestBrowserSignInAndConsent(t *testing.T) {
	e := newEnv(t)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	conf := e.authCodeConfig("https://app.acme.example/callback", "cases:read")
	authURL := conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	page := getPage(t, browser, authURL)
	if !strings.Contains(page, "Alice Martin") || !strings.Contains(page, "carol@acme.example") || strings.Contains(page, "Dana") {
		t.Fatalf("sign-in page does not list exactly the tenant's users:\n%s", page)
	}
	reqID := regexp.MustCompile(`name="request" value="([^"]+)"`).FindStringSubmatch(page)[1]
	consent := postForm(t, browser, e.url+"/v1/oauth/authorize/sign-in", url.Values{"request": {reqID}, "user": {"usr_acme_bob"}})
	if consent.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d", consent.StatusCode)
	}
	body := readAll(consent)
	if !strings.Contains(body, "Bob Chen") || !strings.Contains(body, "cases:read") || !strings.Contains(body, "Read cases") {
		t.Fatalf("consent page does not name the user and scopes:\n%s", body)
	}
	tests := []struct {
		name      string
		decision  string
		wantError string
	}{
		{"deny", "deny", CodeAccessDenied},
		{"approve", "approve", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The session cookie skips the sign-in page the second time.
			page := getPage(t, browser, authURL)
			if !strings.Contains(page, "Approve") {
				t.Fatalf("signed-in browser not sent to consent:\n%s", page)
			}
			id := regexp.MustCompile(`name="request" value="([^"]+)"`).FindStringSubmatch(page)[1]
			res := postForm(t, browser, e.url+"/v1/oauth/authorize/consent", url.Values{"request": {id}, "decision": {tt.decision}})
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("consent: %d", res.StatusCode)
			}
			loc, _ := url.Parse(res.Header.Get("Location"))
			if q := loc.Query(); q.Get("error") != tt.wantError || q.Get("state") != "s1" || (tt.wantError == "" && q.Get("code") == "") {
				t.Errorf("redirect %v", q)
			}
			// A consent form is answered once.
			again := postForm(t, browser, e.url+"/v1/oauth/authorize/consent", url.Values{"request": {id}, "decision": {"approve"}})
			if again.StatusCode != http.StatusBadRequest {
				t.Errorf("second consent: %d", again.StatusCode)
			}
		})
	}
	// Another browser (no session) cannot consent for Bob.
	page = getPage(t, browser, authURL)
	id := regexp.MustCompile(`name="request" value="([^"]+)"`).FindStringSubmatch(page)[1]
	stranger := &http.Client{CheckRedirect: browser.CheckRedirect}
	if res := postForm(t, stranger, e.url+"/v1/oauth/authorize/consent", url.Values{"request": {id}, "decision": {"approve"}}); res.StatusCode != http.StatusBadRequest {
		t.Errorf("consent without the session: %d", res.StatusCode)
	}
}

func getPage(t *testing.T, c *http.Client, u string) string {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, res.StatusCode)
	}
	return readAll(res)
}

func postForm(t *testing.T, c *http.Client, u string, v url.Values) *http.Response {
	t.Helper()
	res, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func readAll(res *http.Response) string {
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
