package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestEverySurfaceRefusesDeepOrGarbledInput: a body nested deeper than
// the JSON depth limit, a body that is not UTF-8 and a query string that
// does not parse are refused on every surface, in its own error language,
// before any handler runs.
func TestEverySurfaceRefusesDeepOrGarbledInput(t *testing.T) {
	e := newSandbox(t)
	token, _, _ := e.clientToken(t, "cases:read")
	deep := strings.Repeat(`{"a":`, 40000) // 200 KB, unterminated
	tests := []struct {
		name, method, path, ctype, token, body string
		want                                   int
		wantIn                                 string // the answer names this
	}{
		{"platform, deep", "POST", "/v1/platform/apps", "application/json", "sandbox_admin_acme", deep, 400, "nested deeper than 64 levels"},
		{"platform, deep arrays", "POST", "/v1/platform/apps", "application/json", "sandbox_admin_acme", strings.Repeat("[", 200000), 400, "nested deeper than 64 levels"},
		{"platform, not UTF-8", "POST", "/v1/platform/apps", "application/json", "sandbox_admin_acme",
			"{\"name\":\"\xff\xfe\",\"grant_types\":[\"client_credentials\"],\"requested_scopes\":[\"cases:read\"]}", 400, "not UTF-8"},
		{"platform, latin1", "POST", "/v1/platform/apps", "application/json; charset=latin1", "sandbox_admin_acme",
			`{"name":"x","grant_types":["client_credentials"],"requested_scopes":["cases:read"]}`, 415, "latin1"},
		{"platform, semicolon in the query", "GET", "/v1/platform/apps?status=bogus;x", "", "sandbox_admin_acme", "", 400, "status=bogus;x"},
		{"platform, bad escape in the query", "GET", "/v1/platform/apps?stat%zzus=failed", "", "sandbox_admin_acme", "", 400, "stat%zzus=failed"},
		{"control plane, deep", "POST", "/_sandbox/clock", "application/json", "", deep, 400, "nested deeper than 64 levels"},
		{"control plane, bad query", "GET", "/_sandbox/clock?a%zz", "", "", "", 400, "a%zz"},
		{"graphql, deep variables", "POST", "/v1/graphql", "application/json", token,
			`{"query":"{ viewer { clientId } }","variables":{"v":` + deep, 400, "BAD_REQUEST"},
		{"graphql, not UTF-8", "POST", "/v1/graphql", "application/json", token, "{\"query\":\"{ viewer { clientId } }\",\"variables\":{\"v\":\"\xff\"}}", 400, "BAD_REQUEST"},
		{"oauth, deep JSON", "POST", "/v1/oauth/token", "application/json", "", deep, 400, "invalid_request"},
		{"oauth, bad query", "POST", "/v1/oauth/token?grant_type=client_credentials;x", "application/x-www-form-urlencoded", "", "grant_type=client_credentials", 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.url+tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want || !strings.Contains(string(raw), tt.wantIn) || !json.Valid(raw) || len(raw) > 4<<10 {
				t.Errorf("%d %.400s, want %d naming %q", resp.StatusCode, raw, tt.want, tt.wantIn)
			}
		})
	}
	// Nesting up to the limit still reaches GraphQL.
	nested := strings.Repeat(`{"a":`, 62) + "1" + strings.Repeat("}", 62)
	req, _ := http.NewRequest("POST", e.url+"/v1/graphql", strings.NewReader(`{"query":"{ viewer { clientId } }","variables":{"v":`+nested+`}}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(raw), `"data"`) {
		t.Errorf("variables nested 64 levels deep: %d %.300s", resp.StatusCode, raw)
	}
}
