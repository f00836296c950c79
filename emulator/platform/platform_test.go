package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/platform"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/specs"
)

// fakeMinter records minted and revoked service tokens; tokens expire
// after their ttl on clock.
type fakeMinter struct {
	clock   core.Clock
	mu      sync.Mutex
	minted  int
	revoked []string
}

func (m *fakeMinter) MintServiceToken(_ context.Context, tenant, appID, clientID string, scopes []string, ttl time.Duration) (string, string, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.minted++
	return "jwt-for-" + clientID, fmt.Sprintf("stk_%024d", m.minted), m.clock.Now().Add(ttl), nil
}

func (m *fakeMinter) RevokeTokenID(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revoked = append(m.revoked, id)
	return nil
}

type env struct {
	t      *testing.T
	srv    *httptest.Server
	clock  *core.VirtualClock
	svc    *platform.Service
	minter *fakeMinter
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvLimits(t, platform.Limits{})
}

// newEnvLimits is newEnv over a store with limits.
func newEnvLimits(t *testing.T, limits platform.Limits) *env {
	t.Helper()
	fx := fixtures.MustDefault()
	clock := core.NewVirtualClock(nil)
	clock.Freeze()
	t.Cleanup(clock.Close)
	ids := core.NewIDs(nil)
	minter := &fakeMinter{clock: clock}
	svc, err := platform.New(platform.Config{Clock: clock, IDs: ids, Fixtures: fx, Tokens: minter,
		Store: platform.NewMemoryStore(limits)})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := specs.Load("platform.yaml")
	if err != nil {
		t.Fatal(err)
	}
	appToken := core.AuthenticatorFunc(func(_ context.Context, tok string) (*core.Principal, error) {
		switch tok {
		case "app-token-acme":
			return &core.Principal{Kind: core.KindApp, Tenant: "acme", ClientID: "cli_x", Scopes: []string{"cases:read"}}, nil
		case partnerAcme, partnerGlobex:
			tenant, _ := strings.CutPrefix(tok, "partner-token-")
			return &core.Principal{Kind: core.KindApp, Tenant: tenant, ClientID: "cli_partner_" + tenant, Scopes: partnerScopes}, nil
		}
		return nil, core.ErrInvalidToken
	})
	rt, err := core.NewRouter(core.RouterConfig{
		APIs:         []core.API{svc.API(doc)},
		Security:     map[string]core.Authenticator{"adminToken": svc.AdminAuthenticator(), "accessToken": appToken},
		IDs:          ids,
		MaxBodyBytes: 64 << 10,
		CheckResponse: func(_ *http.Request, op string, err error) {
			t.Errorf("response of %s does not match the spec: %v", op, err)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return &env{t: t, srv: srv, clock: clock, svc: svc, minter: minter}
}

// do sends a request and decodes a JSON answer into a map.
func (e *env) do(method, path, token, contentType, body string) (int, http.Header, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	// A bounded client: a hang is a failure, not a stuck test run.
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

const acme, globex = "sandbox_admin_acme", "sandbox_admin_globex"

func (e *env) createApp(token, body string) map[string]any {
	e.t.Helper()
	st, _, out := e.do("POST", "/v1/platform/apps", token, "application/json", body)
	if st != http.StatusCreated {
		e.t.Fatalf("create app: %d %v", st, out)
	}
	return out
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
