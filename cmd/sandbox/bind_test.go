package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
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
	verifier := provider.Verifier(&oidc.Config{ClientID: s.base + "/v1/webhooks"})
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
