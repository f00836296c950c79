package core

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/specs"
)

// newLocaleServer serves testSpec with the tenant acme in German.
func newLocaleServer(t *testing.T) *httptest.Server {
	t.Helper()
	doc, err := specs.LoadSpec("test.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	admin := AuthenticatorFunc(func(_ context.Context, tok string) (*Principal, error) {
		if tok == "admin" {
			return &Principal{Kind: KindAdmin, Tenant: "acme"}, nil
		}
		return nil, ErrInvalidToken
	})
	app := AuthenticatorFunc(func(_ context.Context, tok string) (*Principal, error) {
		if tok == "nobody" {
			return &Principal{Kind: KindApp, Tenant: "acme"}, nil
		}
		return nil, ErrInvalidToken
	})
	rt, err := NewRouter(RouterConfig{
		APIs:         []API{{Name: "test", Doc: doc, Handlers: okHandlers()}},
		Security:     map[string]Authenticator{"adminToken": admin, "accessToken": app},
		MaxBodyBytes: 64,
		IDs:          NewIDs(nil),
		TenantLocale: func(tenant string) string {
			if tenant == "acme" {
				return "de"
			}
			return ""
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return srv
}

type localeCall struct {
	name, method, path, token, ctype, body string
}

func (c localeCall) do(t *testing.T, srv *httptest.Server, acceptLanguage string) (*http.Response, map[string]json.RawMessage, []byte) {
	t.Helper()
	req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
	req.Header.Set("X-Request-Id", "req_locale")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	if acceptLanguage != "" {
		req.Header.Set("Accept-Language", acceptLanguage)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatalf("%s: not JSON: %s", c.name, raw)
	}
	return resp, body, raw
}

// machine is a problem without its display text, re-encoded: every other
// member keeps its bytes.
func machine(body map[string]json.RawMessage) string {
	rest := map[string]json.RawMessage{}
	for k, v := range body {
		if k != "title" && k != "detail" {
			rest[k] = v
		}
	}
	out, _ := json.Marshal(rest)
	return string(out)
}

// TestProblemsFollowTheLocale: each router-level error has its title and
// detail in the negotiated locale, says so in Content-Language, and keeps
// every machine-readable member (code, type, status, errors[].field and
// reason, instance) byte for byte what English gets.
func TestProblemsFollowTheLocale(t *testing.T) {
	srv := newLocaleServer(t)
	calls := []localeCall{
		{"unauthorized", "GET", "/things", "", "", ""},
		{"invalid_token", "GET", "/things", "forged", "", ""},
		{"insufficient_scope", "GET", "/things", "nobody", "", ""},
		{"token in query", "GET", "/things?access_token=admin", "", "", ""},
		{"bad query param", "GET", "/things?limit=50", "admin", "", ""},
		{"unknown field", "POST", "/things", "admin", "application/json", `{"name":"a","x":1}`},
		{"unsupported_media_type", "POST", "/things", "admin", "text/plain", `{"name":"a"}`},
		{"request_too_large", "POST", "/things", "admin", "application/json", `{"name":"` + strings.Repeat("a", 100) + `"}`},
		{"method_not_allowed", "DELETE", "/things", "admin", "", ""},
		{"not_found", "GET", "/nothing", "", "", ""},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			enResp, en, _ := c.do(t, srv, "en")
			if got := enResp.Header.Get("Content-Language"); got != "en" {
				t.Errorf("en: Content-Language = %q", got)
			}
			for _, lang := range []string{"fr-FR, fr;q=0.9", "de", "ja"} {
				resp, body, raw := c.do(t, srv, lang)
				want := lang[:2]
				if got := resp.Header.Get("Content-Language"); got != want {
					t.Errorf("%s: Content-Language = %q, want %q", lang, got, want)
				}
				if got, want := machine(body), machine(en); got != want {
					t.Errorf("%s: machine-readable members differ:\n got %s\nwant %s", lang, got, want)
				}
				if string(body["title"]) == string(en["title"]) || string(body["detail"]) == string(en["detail"]) {
					t.Errorf("%s: title or detail is not translated: %s", lang, raw)
				}
			}
		})
	}
}

// TestProblemsFallBackToTheTenantLocale: without a supported
// Accept-Language an authenticated caller gets its tenant's locale; an
// anonymous one gets English.
func TestProblemsFallBackToTheTenantLocale(t *testing.T) {
	srv := newLocaleServer(t)
	tests := []struct {
		name, acceptLanguage string
		call                 localeCall
		want                 string
	}{
		{"tenant locale", "", localeCall{"bad query", "GET", "/things?limit=50", "admin", "", ""}, "de"},
		{"unsupported language", "pt-BR", localeCall{"bad query", "GET", "/things?limit=50", "admin", "", ""}, "de"},
		{"header wins", "ja", localeCall{"bad query", "GET", "/things?limit=50", "admin", "", ""}, "ja"},
		{"anonymous", "", localeCall{"no token", "GET", "/things", "", "", ""}, "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, raw := tt.call.do(t, srv, tt.acceptLanguage)
			if got := resp.Header.Get("Content-Language"); got != tt.want {
				t.Errorf("Content-Language = %q, want %q: %s", got, tt.want, raw)
			}
			if tt.want == "de" && !strings.Contains(string(body["detail"]), "query.limit") {
				t.Errorf("the German detail lost the field name: %s", raw)
			}
		})
	}
}
