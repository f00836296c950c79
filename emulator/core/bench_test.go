package core

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
