package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/internal/cputime"
	"github.com/knogin/argus-sandbox/internal/pgtest"
)

// BenchmarkNew measures assembling a sandbox on the embedded specs and
// fixtures: the in-process share of the cold start.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		sb, err := emulator.New(emulator.Config{Issuer: "http://127.0.0.1:8080", Seed: 1, Loopback: true})
		if err != nil {
			b.Fatal(err)
		}
		sb.Close()
	}
}

// BenchmarkHandler measures the server-side cost of the loadbench requests
// through the whole router (security, validation, handler, encoding),
// without a network in between, on each store: memory, SQLite and, when a
// server is configured (internal/pgtest), PostgreSQL. Requests are built
// with http.NewRequest: httptest.NewRequest parses a request line through
// a fresh 4 KiB reader each time, garbage a server (which reuses its
// readers) does not make and that would inflate the collector's share.
// cpu-ns/op is the process's CPU time per request (PostgreSQL's own is not
// in it), steadier than ns/op on a shared machine.
func BenchmarkHandler(b *testing.B) {
	b.Run("memory", func(b *testing.B) {
		benchmarkHandler(b, emulator.Config{})
	})
	b.Run("sqlite", func(b *testing.B) {
		benchmarkHandler(b, emulator.Config{DataDir: b.TempDir()})
	})
	b.Run("postgres", func(b *testing.B) {
		benchmarkHandler(b, emulator.Config{DatabaseURL: pgtest.Database(b)})
	})
}

func benchmarkHandler(b *testing.B, cfg emulator.Config) {
	cfg.Issuer, cfg.Seed, cfg.Loopback = "http://127.0.0.1:8080", 1, true
	sb, err := emulator.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(sb.Close)
	h := sb.Handler()
	call := func(method, target, ctype, auth, body string) *httptest.ResponseRecorder {
		return serve(h, method, target, ctype, auth, body)
	}
	w := call("POST", "/v1/platform/apps", "application/json", "sandbox_admin_acme",
		`{"name":"Load benchmark","grant_types":["client_credentials"],"requested_scopes":["cases:read","cases:write","webhooks:read"]}`)
	var app struct {
		ID           string `json:"id"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &app); err != nil || w.Code != http.StatusCreated {
		b.Fatalf("create app: %d %s", w.Code, w.Body)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.ClientSecret}}.Encode()
	w = call("POST", "/v1/oauth/token", "application/x-www-form-urlencoded", "", form)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &tok); err != nil || w.Code != http.StatusOK {
		b.Fatalf("token: %d %s", w.Code, w.Body)
	}
	query, _ := json.Marshal(map[string]any{"variables": map[string]any{"id": "case_acme_1001"},
		"query": `query Case($id: ID!) { case(id: $id) { id number title status priority notes(first: 20) { totalCount edges { node { id body createdAt } } } } }`})
	tests := []struct {
		name                        string
		method, target, ctype, auth string
		body                        string
	}{
		{"rest-get", "GET", "/v1/platform/apps/" + app.ID, "", "sandbox_admin_acme", ""},
		{"rest-get-access-token", "GET", "/v1/webhooks", "", tok.AccessToken, ""},
		{"token-client-credentials", "POST", "/v1/oauth/token", "application/x-www-form-urlencoded", "", form},
		{"graphql-case-with-notes", "POST", "/v1/graphql", "application/json", tok.AccessToken, string(query)},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0, measured := cputime.Process()
			defer func() {
				if cpu1, ok := cputime.Process(); ok && measured && b.N > 0 {
					b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
				}
			}()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r, err := http.NewRequest(tt.method, "http://127.0.0.1:8080"+tt.target, strings.NewReader(tt.body))
					if err != nil {
						b.Fatal(err)
					}
					r.RemoteAddr = "127.0.0.1:40000"
					if tt.ctype != "" {
						r.Header.Set("Content-Type", tt.ctype)
					}
					if tt.auth != "" {
						r.Header.Set("Authorization", "Bearer "+tt.auth)
					}
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}

// serve answers one request through h, in process: the body, its
// Content-Type and a bearer token as given ("": none).
func serve(h http.Handler, method, target, ctype, auth, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		r.Header.Set("Authorization", "Bearer "+auth)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
