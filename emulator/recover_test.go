package emulator_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/specs"
)

// TestPanicAnswersInEachSurfaceLanguage: a handler that fails with a panic
// is answered by its API's own error writer, as every refusal before the
// handler is: a GraphQL error with extensions.code INTERNAL_SERVER_ERROR on
// GraphQL, an RFC 6749 server_error on OAuth, never problem+json there.
func TestPanicAnswersInEachSurfaceLanguage(t *testing.T) {
	e := newSandbox(t)
	boom := http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("handler failed") })
	var apis []core.API
	for _, name := range []string{"graphql", "oauth"} {
		doc, err := specs.Load(name + ".yaml")
		if err != nil {
			t.Fatal(err)
		}
		var api core.API
		switch name {
		case "graphql":
			api = e.sb.SurfaceAPI(name, doc)
		case "oauth":
			api = e.sb.SurfaceAPI(name, doc)
		}
		for id := range api.Handlers {
			api.Handlers[id] = boom
		}
		api.Security = map[string]core.Authenticator{"accessToken": core.AuthenticatorFunc(
			func(context.Context, string) (*core.Principal, error) {
				return &core.Principal{Kind: core.KindAdmin, Tenant: "acme"}, nil
			})}
		apis = append(apis, api)
	}
	rt, err := core.NewRouter(core.RouterConfig{APIs: apis, IDs: core.NewIDs(nil)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	// The sandbox's request helpers, pointed at the router of panicking
	// handlers.
	boomed := &sandboxEnv{sb: e.sb, url: srv.URL}

	resp, body := boomed.post(t, "/v1/graphql", "application/json", "any", `{"query":"{ __typename }"}`)
	errs, _ := body["errors"].([]any)
	var code any
	if len(errs) == 1 {
		ext, _ := errs[0].(map[string]any)["extensions"].(map[string]any)
		code = ext["code"]
	}
	if resp.StatusCode != http.StatusInternalServerError || code != "INTERNAL_SERVER_ERROR" ||
		strings.Contains(resp.Header.Get("Content-Type"), "problem") {
		t.Errorf("GraphQL panic answered %d %s %v, want 500 with one INTERNAL_SERVER_ERROR error", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	resp, body = boomed.post(t, "/v1/oauth/token", "application/x-www-form-urlencoded", "", "grant_type=client_credentials")
	if resp.StatusCode != http.StatusInternalServerError || body["error"] != "server_error" ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("OAuth panic answered %d %v %v, want 500 server_error with Cache-Control no-store", resp.StatusCode, resp.Header, body)
	}
}
