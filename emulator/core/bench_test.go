package core

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/internal/cputime"
	"github.com/knogin/argus-sandbox/specs"
)

// BenchmarkRouter measures a request through the router without the
// network: request ID, authentication, request validation (the fast check
// where it applies, kin-openapi otherwise) and a handler that only answers.
func BenchmarkRouter(b *testing.B) {
	doc, err := specs.LoadSpec("test.yaml", []byte(testSpec))
	if err != nil {
		b.Fatal(err)
	}
	admin := AuthenticatorFunc(func(_ context.Context, tok string) (*Principal, error) {
		if tok == "admin" {
			return &Principal{Kind: KindAdmin, Tenant: "acme"}, nil
		}
		return nil, ErrInvalidToken
	})
	rt, err := NewRouter(RouterConfig{
		APIs:         []API{{Name: "test", Doc: doc, Handlers: okHandlers()}},
		Security:     map[string]Authenticator{"adminToken": admin, "accessToken": admin},
		MaxBodyBytes: 1 << 10,
		IDs:          NewIDs(nil),
	})
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name, method, target, body string
		want                       int
	}{
		{"path-pattern-fast", "GET", "/things/t_abc", "", 200}, // anonymous
		{"query-integer-kin", "GET", "/things?limit=5", "", 200},
		{"json-body-fast", "POST", "/things", `{"name":"widget"}`, 201},
		{"json-body-refused", "POST", "/things", `{"name":1}`, 400},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var body *strings.Reader
				if c.body != "" {
					body = strings.NewReader(c.body)
				}
				var r *http.Request
				if body != nil {
					r, _ = http.NewRequest(c.method, c.target, body)
					r.Header.Set("Content-Type", "application/json")
				} else {
					r, _ = http.NewRequest(c.method, c.target, nil)
				}
				if c.method == "POST" || strings.Contains(c.target, "?") {
					r.Header.Set("Authorization", "Bearer admin")
				}
				w := httptest.NewRecorder()
				rt.ServeHTTP(w, r)
				if w.Code != c.want {
					b.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body)
				}
			}
		})
	}
}

// BenchmarkRouterLogging measures what the per-request log line costs: a
// validated GET with logging off, and at info level into a JSON handler
// that discards its output (formatting included, no I/O).
//
//	go test ./emulator/core/ -run '^$' -bench RouterLogging -benchmem -count 6
func BenchmarkRouterLogging(b *testing.B) {
	doc, err := specs.LoadSpec("test.yaml", []byte(testSpec))
	if err != nil {
		b.Fatal(err)
	}
	admin := AuthenticatorFunc(func(_ context.Context, tok string) (*Principal, error) {
		return &Principal{Kind: KindAdmin, Tenant: "acme"}, nil
	})
	for _, lc := range []struct {
		name string
		log  *slog.Logger
	}{
		{"log=off", nil},
		{"log=info", slog.New(slog.NewJSONHandler(io.Discard, nil))},
	} {
		rt, err := NewRouter(RouterConfig{
			APIs:     []API{{Name: "test", Doc: doc, Handlers: okHandlers()}},
			Security: map[string]Authenticator{"adminToken": admin, "accessToken": admin},
			IDs:      NewIDs(nil),
			Logger:   lc.log,
		})
		if err != nil {
			b.Fatal(err)
		}
		for _, target := range []string{"/things/t_abc", "/things?limit=5"} {
			name := "get=path"
			if strings.Contains(target, "?") {
				name = "get=query"
			}
			b.Run(name+"/"+lc.name, func(b *testing.B) {
				b.ReportAllocs()
				cpu0, cpuOK := cputime.Process()
				for b.Loop() {
					r, _ := http.NewRequest("GET", target, nil)
					if name == "get=query" {
						r.Header.Set("Authorization", "Bearer admin")
					}
					w := httptest.NewRecorder()
					rt.ServeHTTP(w, r)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
				// CPU per request stays comparable on a shared machine,
				// where time/op moves with the neighbours' load.
				if cpu1, ok := cputime.Process(); ok && cpuOK {
					b.ReportMetric(float64(cpu1-cpu0)/float64(b.N), "cpu-ns/op")
				}
			})
		}
	}
}
