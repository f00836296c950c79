package control

import (
	"io"
	"io/fs"
	"net/http"
	"path"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/specs"
)

func TestCreateFaultRule(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantFields []string
	}{
		{"created", `{"name":"outage","match":{"path":"/v1/oauth/token"},"when":{"first":3},"action":{"error":{"status":503,"retry_after":"20s"}}}`, 201, nil},
		{"name taken", `{"name":"from-file","action":{"malformed":{}}}`, 409, nil},
		{"schema error", `{"name":"a","when":{"probability":2},"action":{"malformed":{}}}`, 400, []string{"/when/probability"}},
		{"two actions", `{"name":"a","action":{"malformed":{},"reset":{}}}`, 400, []string{"/action"}},
		{"match field of another target", `{"name":"a","match":{"topic":"case.updated"},"action":{"error":{"status":500}}}`, 400, []string{"/match/topic"}},
		{"latency that would outlive the write timeout", `{"name":"lat","match":{"operation":"listAccessRequests"},"action":{"latency":{"fixed":"999999h"}}}`, 400, []string{"/action/latency/fixed"}},
		{"duration out of range", `{"name":"tex","match":{"operation":"token"},"action":{"token_expiry":{"expires_in":"-999999999h"}}}`, 400, []string{"/action/token_expiry/expires_in"}},
		{"first that would overflow after plus first", `{"name":"a","when":{"after":1,"first":9223372036854775807},"action":{"malformed":{}}}`, 400, []string{"/when/first"}},
		{"after beyond int", `{"name":"a","when":{"after":1e23},"action":{"malformed":{}}}`, 400, []string{"/when/after"}},
		{"from after until", `{"name":"a","when":{"from":"2h","until":"1h"},"action":{"malformed":{}}}`, 400, []string{"/when/until"}},
		{"window that never opens on the clock", `{"name":"a","when":{"from":"2h","until":"2000-01-01T00:00:00Z"},"action":{"malformed":{}}}`, 400, []string{"/when/until"}},
		{"rate limit beyond int", `{"name":"a","action":{"error":{"status":429,"limit":1e23}}}`, 400, []string{"/action/error/limit"}},
		{"probability that rounds to zero", `{"name":"a","when":{"probability":1e-9999999},"action":{"malformed":{}}}`, 400, []string{"/when/probability"}},
		{"count beyond float64", `{"name":"a","when":{"after":1e400},"action":{"malformed":{}}}`, 400, []string{"/when/after"}},
		{"integers in exponent notation", `{"name":"outage","when":{"after":1e2,"first":2.0},"action":{"malformed":{}}}`, 201, nil},
		{"every semantic problem", `{"name":"a","when":{"until":"later"},"action":{"error":{"status":500,"limit":3}}}`, 400, []string{"/when/until", "/action/error/limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			status, h, body := e.do(http.MethodPost, "/_sandbox/faults", "", tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %v", status, tt.wantStatus, body)
			}
			if diff := cmp.Diff(tt.wantFields, fields(body)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if status == 201 {
				if h.Get("Location") != "/_sandbox/faults/outage" || body["target"] != "http" || body["fired"] != 0.0 {
					t.Errorf("created %v at %q", body, h.Get("Location"))
				}
				if _, err := e.faults.Rule("outage"); err != nil {
					t.Errorf("the rule is not loaded: %v", err)
				}
			}
		})
	}
}

func TestFaultRuleLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	e.do(http.MethodPost, "/_sandbox/faults", "", `{"name":"short","match":{"tenant":"acme"},"action":{"token_expiry":{"expires_in":"-1m"}}}`)
	e.faults.MatchToken(faults.TokenInfo{Tenant: "acme", ClientID: "app_1"})

	status, _, body := e.do(http.MethodGet, "/_sandbox/faults", "", "")
	if status != 200 {
		t.Fatal(status)
	}
	var names []string
	for _, r := range body["data"].([]any) {
		names = append(names, r.(map[string]any)["name"].(string))
	}
	if diff := cmp.Diff([]string{"from-file", "short"}, names); diff != "" {
		t.Errorf("rules in order (-want +got):\n%s", diff)
	}

	status, _, body = e.do(http.MethodGet, "/_sandbox/faults/from-file", "", "")
	if status != 200 || body["fired"] != 1.0 || body["matched"] != 1.0 {
		t.Errorf("GET from-file = %d %v, want one firing (the first token rule wins)", status, body)
	}

	status, _, body = e.do(http.MethodGet, "/_sandbox/faults/events?rule=from-file", "", "")
	evs, _ := body["data"].([]any)
	if status != 200 || len(evs) != 1 {
		t.Fatalf("events = %d %v", status, body)
	}
	if ev := evs[0].(map[string]any); ev["rule"] != "from-file" || ev["target"] != "token" || ev["client_id"] != "app_1" {
		t.Errorf("event = %v", ev)
	}
	if _, _, body = e.do(http.MethodGet, "/_sandbox/faults/events?rule=short", "", ""); len(body["data"].([]any)) != 0 {
		t.Errorf("short never fired, yet has events %v", body)
	}
	if status, _, _ = e.do(http.MethodGet, "/_sandbox/faults/events?limit=0", "", ""); status != 400 {
		t.Errorf("limit=0: %d, want 400", status)
	}

	if status, _, _ = e.do(http.MethodDelete, "/_sandbox/faults/from-file", "", ""); status != 204 {
		t.Errorf("DELETE = %d", status)
	}
	if status, _, body = e.do(http.MethodGet, "/_sandbox/faults/from-file", "", ""); status != 404 || body["code"] != "not_found" {
		t.Errorf("GET deleted = %d %v", status, body)
	}
	if status, _, _ = e.do(http.MethodDelete, "/_sandbox/faults/from-file", "", ""); status != 404 {
		t.Errorf("DELETE twice = %d", status)
	}
	if status, _, _ = e.do(http.MethodDelete, "/_sandbox/faults", "", ""); status != 204 || len(e.faults.Rules()) != 0 {
		t.Errorf("clear = %d, %d rules left", status, len(e.faults.Rules()))
	}
}

func TestHealthAndSpecFiles(t *testing.T) {
	e := newEnv(t, nil)
	if status, _, body := e.do(http.MethodGet, "/healthz", "", ""); status != 200 || body["status"] != "ok" {
		t.Errorf("healthz = %d %v", status, body)
	}
	tests := []struct {
		name       string
		wantStatus int
		wantType   string
	}{
		{"sandbox.yaml", 200, "application/yaml"},
		{"faults.schema.json", 200, "application/json"},
		{"schema.graphql", 200, "application/graphql"},
		{"nope.yaml", 404, "application/problem+json"},
		{"schema.partner.graphql", 404, "application/problem+json"},
		{"specs.go", 400, "application/problem+json"},
		{"..%2Fgo.mod", 400, "application/problem+json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.srv.Client().Get(e.srv.URL + "/openapi/" + tt.name)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Content-Type") != tt.wantType {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, resp.Header.Get("Content-Type"), tt.wantStatus, tt.wantType)
			}
			if tt.wantStatus == 200 {
				want, _ := fs.ReadFile(specs.Default(), tt.name)
				if string(got) != string(want) {
					t.Errorf("served %d bytes, not the %d of the file", len(got), len(want))
				}
			}
		})
	}
}

// TestSpecFilesPublished: every spec file is served, except the partner
// GraphQL schema extension, an inventory of reviewed-access operations; it
// stays unserved even when a --specs directory holds it or other files.
func TestSpecFilesPublished(t *testing.T) {
	names, err := fs.Glob(specs.Default(), "*.*")
	if err != nil {
		t.Fatal(err)
	}
	extra := fstest.MapFS{"notes.yaml": {Data: []byte("internal: true\n")}}
	for _, n := range names {
		data, _ := fs.ReadFile(specs.Default(), n)
		extra[n] = &fstest.MapFile{Data: data}
	}
	e := newEnv(t, func(c *Config) { c.Specs = extra })
	served := 0
	for _, name := range names {
		if path.Ext(name) == ".go" {
			continue
		}
		status, _, _ := e.do(http.MethodGet, "/openapi/"+name, "", "")
		want := http.StatusOK
		if name == "schema.partner.graphql" {
			want = http.StatusNotFound
		}
		if status != want {
			t.Errorf("GET /openapi/%s = %d, want %d", name, status, want)
		}
		if status == http.StatusOK {
			served++
		}
	}
	if served < 7 {
		t.Errorf("only %d spec files served", served)
	}
	if status, _, _ := e.do(http.MethodGet, "/openapi/notes.yaml", "", ""); status != http.StatusNotFound {
		t.Errorf("GET /openapi/notes.yaml = %d, want 404: only the published files are served", status)
	}
}
