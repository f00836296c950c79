package main

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/knogin/argus-sandbox/emulator/oauth"
)

// TestPortZeroIssuerIsTheBoundAddress starts on an ephemeral port and
// verifies a token with go-oidc, which insists that discovery names the URL
// it was fetched from.
func TestPortZeroIssuerIsTheBoundAddress(t *testing.T) {
	s := startRun(t, "--addr", "127.0.0.1:0", "--log-level", "error")
	if strings.HasSuffix(s.base, ":0") {
		t.Fatalf("banner names port 0: %s", s.base)
	}
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, s.base)
	if err != nil {
		t.Fatalf("discovery at %s: %v", s.base, err)
	}
	req, _ := http.NewRequest(http.MethodPost, s.base+"/v1/platform/apps", strings.NewReader(
		`{"name":"Port zero","grant_types":["client_credentials"],"requested_scopes":["webhooks:write"]}`))
	req.Header.Set("Authorization", "Bearer sandbox_admin_acme")
	req.Header.Set("Content-Type", "application/json")
	status, _, app := do(t, req)
	if status != http.StatusCreated {
		t.Fatalf("register app: %d %v", status, app)
	}
	cc := clientcredentials.Config{ClientID: app["client_id"].(string), ClientSecret: app["client_secret"].(string),
		TokenURL: provider.Endpoint().TokenURL, Scopes: []string{"webhooks:write"}, AuthStyle: oauth2.AuthStyleInHeader}
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// An access token is no ID token: its algorithm is the access tokens'.
	verifier := provider.Verifier(&oidc.Config{ClientID: s.base + "/v1/webhooks", SupportedSigningAlgs: []string{oauth.DefaultSigningAlg}})
	if _, err := verifier.Verify(ctx, tok.AccessToken); err != nil {
		t.Errorf("go-oidc refuses the token: %v", err)
	}
}

func TestExplicitIssuerIsKept(t *testing.T) {
	s := startRun(t, "--addr", "127.0.0.1:0", "--issuer", "https://sandbox.example.test/", "--log-level", "error")
	status, _, doc := s.get(t, "/.well-known/openid-configuration", "")
	if status != http.StatusOK || doc["issuer"] != "https://sandbox.example.test" {
		t.Errorf("discovery = %d, issuer %v", status, doc["issuer"])
	}
}

// TestHostCheck is the defence against DNS rebinding: a page whose name
// resolves to 127.0.0.1 reaches a loopback listener with its own name in
// the Host header, which the sandbox refuses.
func TestHostCheck(t *testing.T) {
	loopback := startRun(t, "--addr", "127.0.0.1:0", "--log-level", "error",
		"--issuer", "http://issuer.test:9999", "--allowed-hosts", "sandbox.test, Other.Test:7000")
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(loopback.base, "http://"))
	open := startRun(t, "--addr", "127.0.0.1:0", "--log-level", "error", "--allowed-hosts", "*")
	// A wildcard bind is reached by arbitrary names (a container behind a
	// mapped port): no check unless --allowed-hosts says otherwise.
	wildcard := startRun(t, "--addr", "0.0.0.0:0", "--log-level", "error", "--operator-token", "op_test")
	tests := []struct {
		name string
		s    *started
		host string
		want int
	}{
		{"the listener's address", loopback, "", http.StatusOK},
		{"localhost with the port", loopback, "localhost:" + port, http.StatusOK},
		{"LOCALHOST in capitals", loopback, "LOCALHOST:" + port, http.StatusOK},
		{"IPv6 loopback with the port", loopback, "[::1]:" + port, http.StatusOK},
		{"the issuer's host", loopback, "issuer.test:9999", http.StatusOK},
		{"an allowed host on any port", loopback, "sandbox.test:" + port, http.StatusOK},
		{"an allowed host without a port", loopback, "sandbox.test", http.StatusOK},
		{"an allowed host:port", loopback, "other.test:7000", http.StatusOK},
		{"an allowed host:port on another port", loopback, "other.test:7001", http.StatusMisdirectedRequest},
		{"a rebound name", loopback, "attacker.example:" + port, http.StatusMisdirectedRequest},
		{"localhost on another port", loopback, "localhost:1", http.StatusMisdirectedRequest},
		{"the issuer's host on another port", loopback, "issuer.test:" + port, http.StatusMisdirectedRequest},
		{"a suffix of an allowed host", loopback, "evil-sandbox.test", http.StatusMisdirectedRequest},
		{"* allows every host", open, "attacker.example", http.StatusOK},
		{"a wildcard bind does not check", wildcard, "attacker.example", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/healthz", "/_sandbox/clock"} {
				status, h, body := tt.s.get(t, path, tt.host)
				if status != tt.want {
					t.Fatalf("GET %s with Host %q = %d, want %d (%v)", path, tt.host, status, tt.want, body)
				}
				if status == http.StatusMisdirectedRequest {
					if ct := h.Get("Content-Type"); ct != "application/problem+json" || body["code"] != "misdirected_request" || body["request_id"] == "" {
						t.Errorf("refusal: %s %v", ct, body)
					}
				}
				if tt.s == wildcard {
					break // the control plane wants the operator token there
				}
			}
		})
	}
}

func TestHostCheckAllowsTheHealthcheck(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		t.Run(addr, func(t *testing.T) {
			s := startRun(t, "--addr", addr, "--log-level", "error")
			u, _ := url.Parse(s.base)
			if host, _, _ := net.SplitHostPort(addr); host == "localhost" {
				u.Host = net.JoinHostPort("localhost", u.Port())
			}
			if code := run(t.Context(), []string{"healthcheck", "--addr", u.Host}, nil, &lockedBuffer{}); code != exitOK {
				t.Errorf("healthcheck --addr %s = %d", u.Host, code)
			}
		})
	}
}

func TestAllowedHostsMustBeHosts(t *testing.T) {
	for _, bad := range []string{"http://sandbox.test", "sandbox.test/path", "sandbox.test:port", "a b", "user@host"} {
		t.Run(bad, func(t *testing.T) {
			var stderr lockedBuffer
			if code := run(t.Context(), []string{"--addr", "127.0.0.1:0", "--allowed-hosts", bad}, nil, &stderr); code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), "--allowed-hosts") {
				t.Errorf("stderr %q does not name the flag", stderr.String())
			}
		})
	}
}
