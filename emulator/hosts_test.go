package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHostAllowlist(t *testing.T) {
	l, err := parseAllowedHosts([]string{"localhost:8080", "127.0.0.1:8080", "[::1]:8080", " sandbox.test ", "Mixed.Test:9000", "::2", "[::3]"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want bool
	}{
		{"localhost:8080", true},
		{"LocalHost:8080", true},
		{"localhost.:8080", true},
		{"localhost:08080", true},
		{"localhost:8081", false},
		{"localhost", false}, // port 80
		{"127.0.0.1:8080", true},
		{"[::1]:8080", true},
		{"[0:0::1]:8080", true},
		{"[::ffff:127.0.0.1]:8080", true},
		{"[::1%25lo]:8080", false},
		{"sandbox.test", true},
		{"sandbox.test:1234", true},
		{"sub.sandbox.test", false},
		{"evil-sandbox.test", false},
		{"mixed.test:9000", true},
		{"mixed.test", false},
		{"[::2]:1", true},
		{"[::3]:1", true},
		{"127.0.0.2:8080", false},
		{"attacker.example:8080", false},
		{"", false},
		{"localhost:", false},
		{"localhost:+8080", false},
		{"localhost:99999", false},
	}
	for _, tt := range tests {
		if got := l.allows(tt.host); got != tt.want {
			t.Errorf("allows(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
	if open, _ := parseAllowedHosts([]string{"localhost", "*"}); open.check() != nil {
		t.Error(`"*" still checks hosts`)
	}
	if none, _ := parseAllowedHosts(nil); none.check() != nil {
		t.Error("an empty list checks hosts")
	}
}

func TestAllowedHostsRefusesNonHosts(t *testing.T) {
	for _, bad := range []string{"", "http://sandbox.test", "sandbox.test/", "sandbox.test:port", "sandbox.test:", "*.sandbox.test", "a b", "user@host", "[sandbox.test]", "[::1"} {
		if _, err := New(Config{Issuer: "http://127.0.0.1:1", Loopback: true, AllowedHosts: []string{"localhost", bad}}); err == nil || !strings.Contains(err.Error(), "AllowedHosts") {
			t.Errorf("AllowedHosts %q: err = %v", bad, err)
		}
	}
}

// TestHostCheckGuardsEverySurface sends requests a rebinding page could
// make: the control plane and delivery diagnostics answer only their hosts.
func TestHostCheckGuardsEverySurface(t *testing.T) {
	sb, err := New(Config{Issuer: "http://127.0.0.1:8080", Loopback: true, AllowedHosts: []string{"127.0.0.1:8080"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	tests := []struct {
		method, path, host string
		want               int
	}{
		{http.MethodPost, "/_sandbox/reset", "rebound.example:8080", http.StatusMisdirectedRequest},
		{http.MethodGet, "/_sandbox/faults", "rebound.example:8080", http.StatusMisdirectedRequest},
		{http.MethodGet, "/v1/webhooks/wh_1/deliveries", "rebound.example:8080", http.StatusMisdirectedRequest},
		{http.MethodPost, "/v1/oauth/token", "rebound.example:8080", http.StatusMisdirectedRequest},
		{http.MethodGet, "/no/such/path", "rebound.example:8080", http.StatusMisdirectedRequest},
		{http.MethodGet, "/_sandbox/faults", "127.0.0.1:8080", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.host, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://"+tt.host+tt.path, nil)
			if tt.method == http.MethodPost {
				req = httptest.NewRequest(tt.method, "http://"+tt.host+tt.path, strings.NewReader("{}"))
				req.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			sb.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status = %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want != http.StatusMisdirectedRequest {
				return
			}
			var p struct {
				Code      string
				RequestID string `json:"request_id"`
			}
			_ = json.Unmarshal(rec.Body.Bytes(), &p)
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" || p.Code != "misdirected_request" || p.RequestID == "" {
				t.Errorf("refusal %s %s", ct, rec.Body)
			}
		})
	}
}
