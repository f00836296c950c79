package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// post sends a request to the sandbox and decodes a JSON answer.
func (e *sandboxEnv) post(t *testing.T, path, ctype, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	return e.send(t, http.MethodPost, path, ctype, token, body)
}

// send sends a request to the sandbox and decodes a JSON answer; ctype
// may be empty for a request without a body.
func (e *sandboxEnv) send(t *testing.T, method, path, ctype, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp, out
}

// clientToken registers an acme app and mints a client_credentials token.
func (e *sandboxEnv) clientToken(t *testing.T, scopes string) (string, string, string) {
	t.Helper()
	_, app := e.post(t, "/v1/platform/apps", "application/json", "sandbox_admin_acme",
		`{"name":"Fault test","grant_types":["client_credentials"],"requested_scopes":["`+strings.ReplaceAll(scopes, " ", `","`)+`"]}`)
	id, secret := app["client_id"].(string), app["client_secret"].(string)
	resp, tok := e.post(t, "/v1/oauth/token", "application/x-www-form-urlencoded", "",
		url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode())
	if resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, tok)
	}
	return tok["access_token"].(string), id, secret
}

// TestInjectedFaultsSpeakEachSurfaceLanguage: an outage injected on the
// token endpoint answers as an OAuth server would (RFC 6749
// temporarily_unavailable with Retry-After), on GraphQL as a GraphQL
// error, and on REST as problem+json — each keeping the injected status.
func TestInjectedFaultsSpeakEachSurfaceLanguage(t *testing.T) {
	e := newSandbox(t)
	token, id, secret := e.clientToken(t, "cases:read")
	for _, rule := range []string{
		`{"name":"token-outage","match":{"operation":"token"},"when":{"first":1},"action":{"error":{"status":503,"retry_after":"20s"}}}`,
		`{"name":"gql-outage","match":{"operation":"graphql"},"when":{"first":1},"action":{"error":{"status":503}}}`,
		`{"name":"apps-limit","match":{"operation":"listApps"},"when":{"first":1},"action":{"error":{"status":429,"retry_after":"10s"}}}`,
	} {
		if resp, out := e.post(t, "/_sandbox/faults", "application/json", "", rule); resp.StatusCode != 201 {
			t.Fatalf("add rule: %d %v", resp.StatusCode, out)
		}
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}.Encode()
	resp, out := e.post(t, "/v1/oauth/token", "application/x-www-form-urlencoded", "", form)
	if resp.StatusCode != 503 || out["error"] != "temporarily_unavailable" || resp.Header.Get("Retry-After") != "20" ||
		resp.Header.Get("X-Sandbox-Fault") != "token-outage" {
		t.Errorf("token outage: %d %v Retry-After=%q fault=%q", resp.StatusCode, out, resp.Header.Get("Retry-After"), resp.Header.Get("X-Sandbox-Fault"))
	}
	if resp, out := e.post(t, "/v1/oauth/token", "application/x-www-form-urlencoded", "", form); resp.StatusCode != 200 {
		t.Errorf("token after the outage: %d %v", resp.StatusCode, out)
	}
	query := `{"query":"{ case(id: \"case_acme_1001\") { id } }"}`
	for _, want := range []struct {
		status int
		code   string
		rule   string
	}{{503, "SERVICE_UNAVAILABLE", ""},
		{500, "INTERNAL_SERVER_ERROR", `{"name":"gql-bug","match":{"operation":"graphql"},"when":{"first":1},"action":{"error":{"status":500}}}`}} {
		if want.rule != "" {
			e.post(t, "/_sandbox/faults", "application/json", "", want.rule)
		}
		resp, out := e.post(t, "/v1/graphql", "application/json", token, query)
		errs, _ := out["errors"].([]any)
		code := ""
		if len(errs) == 1 {
			code, _ = errs[0].(map[string]any)["extensions"].(map[string]any)["code"].(string)
		}
		if resp.StatusCode != want.status || code != want.code {
			t.Errorf("graphql fault: %d %v, want %d %s", resp.StatusCode, out, want.status, want.code)
		}
	}
	if resp, out := e.post(t, "/v1/graphql", "application/json", token, query); resp.StatusCode != 200 || out["data"] == nil {
		t.Errorf("graphql after the faults: %d %v", resp.StatusCode, out)
	}
	req, _ := http.NewRequest("GET", e.url+"/v1/platform/apps", nil)
	req.Header.Set("Authorization", "Bearer sandbox_admin_acme")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != 429 || r2.Header.Get("Content-Type") != "application/problem+json" || r2.Header.Get("RateLimit-Limit") == "" {
		t.Errorf("rate limit: %d %v", r2.StatusCode, r2.Header)
	}
}
