package oauth

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/specs"
)

// fakeDirectory is an in-memory ClientDirectory. A rotated secret stays
// valid until its grace deadline on the test clock.
type fakeDirectory struct {
	clock core.Clock
	mu    sync.Mutex
	apps  map[string]fakeApp
}

type fakeApp struct {
	client      Client
	secret      string
	oldSecret   string
	graceExpiry time.Time
}

var _ ClientDirectory = (*fakeDirectory)(nil)

func (d *fakeDirectory) LookupClient(_ context.Context, id string) (Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.apps[id]
	if !ok {
		return Client{}, ErrUnknownClient
	}
	return a.client, nil
}

func (d *fakeDirectory) Authenticate(_ context.Context, id, secret string) (Client, bool, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.apps[id]
	if !ok {
		return Client{}, false, ErrUnknownClient
	}
	if secret == a.secret {
		return a.client, true, nil
	}
	return a.client, secret != "" && secret == a.oldSecret && d.clock.Now().Before(a.graceExpiry), nil
}

func (d *fakeDirectory) add(c Client, secret string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.apps[c.ClientID] = fakeApp{client: c, secret: secret}
}

func (d *fakeDirectory) rotate(id, newSecret string, grace time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	a := d.apps[id]
	a.oldSecret, a.secret, a.graceExpiry = a.secret, newSecret, d.clock.Now().Add(grace)
	d.apps[id] = a
}

func (d *fakeDirectory) remove(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.apps, id)
}

// Fixture apps of the tests.
var (
	appFull = Client{ClientID: "app_full", AppID: "app_1", Tenant: "acme", Name: "Case sync connector",
		GrantTypes:   []string{GrantClientCredentials, GrantAuthorizationCode, GrantRefreshToken},
		RedirectURIs: []string{"https://app.acme.example/callback", "http://127.0.0.1/callback"},
		Scopes:       []string{"cases:read", "cases:write", "webhooks:read", "webhooks:write", "users:read"}}
	appOther = Client{ClientID: "app_other", AppID: "app_2", Tenant: "acme", Name: "Other app",
		GrantTypes:   []string{GrantClientCredentials, GrantAuthorizationCode, GrantRefreshToken},
		RedirectURIs: []string{"https://other.acme.example/callback"},
		Scopes:       []string{"cases:read"}}
	appMachine = Client{ClientID: "app_machine", AppID: "app_3", Tenant: "globex", Name: "Globex machine",
		GrantTypes: []string{GrantClientCredentials}, Scopes: []string{"webhooks:write"}}
	appNoRefresh = Client{ClientID: "app_norefresh", AppID: "app_4", Tenant: "acme", Name: "No refresh",
		GrantTypes:   []string{GrantAuthorizationCode},
		RedirectURIs: []string{"https://norefresh.acme.example/cb"}, Scopes: []string{"cases:read"}}
)

const (
	secretFull  = "sk_full_secret_0123456789abcdefghij"
	secretOther = "sk_other_secret_0123456789abcdefgh"
)

// env is a running token service behind the spec-driven router.
type env struct {
	t     testing.TB
	svc   *Service
	clock *core.VirtualClock
	dir   *fakeDirectory
	srv   *httptest.Server
	url   string
}

type envOption func(*Config)

// withKeys gives the service a keyring built from kc on the env's clock.
func withKeys(t testing.TB, kc KeyringConfig) envOption {
	return func(c *Config) {
		kc.Clock = c.Clock
		keys, err := NewKeyring(kc)
		if err != nil {
			t.Fatal(err)
		}
		c.Keys = keys
	}
}

func newEnv(t testing.TB, opts ...envOption) *env {
	t.Helper()
	clock := core.NewVirtualClock(nil)
	clock.Freeze()
	t.Cleanup(clock.Close)
	dir := &fakeDirectory{clock: clock, apps: map[string]fakeApp{}}
	dir.add(appFull, secretFull)
	dir.add(appOther, secretOther)
	dir.add(appMachine, "sk_machine_secret_0123456789abcdef")
	dir.add(appNoRefresh, "sk_norefresh_secret_0123456789abcd")
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	cfg := Config{Clock: clock, IDs: core.NewIDs(nil), Fixtures: fixtures.MustDefault(), Clients: dir, Issuer: issuer}
	for _, o := range opts {
		o(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := specs.Load("oauth.yaml")
	if err != nil {
		t.Fatal(err)
	}
	apis := []core.API{svc.API(doc), resourceAPI(t, svc)}
	rt, err := core.NewRouter(core.RouterConfig{APIs: apis, IDs: core.NewIDs(nil),
		CheckResponse: func(r *http.Request, op string, err error) {
			t.Errorf("response of %s does not match the spec: %v", op, err)
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = rt
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{t: t, svc: svc, clock: clock, dir: dir, srv: srv, url: issuer}
}

// resourceSpec is a tiny resource server protected by the accessToken
// scheme, to test the verifier through the router.
const resourceSpec = `openapi: 3.0.3
info: {title: test resource, version: "1"}
paths:
  /v1/webhooks/things:
    get:
      operationId: listThings
      security: [{accessToken: [webhooks:read]}]
      responses:
        "200": {description: ok}
components:
  securitySchemes:
    accessToken:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: /v1/oauth/token
          scopes: {"webhooks:read": read webhooks}
`

func resourceAPI(t testing.TB, svc *Service) core.API {
	doc, err := specs.LoadSpec("resource.yaml", []byte(resourceSpec))
	if err != nil {
		t.Fatal(err)
	}
	return core.API{Name: "resource", Doc: doc,
		Handlers: map[string]http.Handler{"listThings": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := core.PrincipalFrom(r.Context())
			w.Header().Set("X-Principal", string(p.Kind)+" "+p.Tenant+" "+p.Subject)
			w.WriteHeader(http.StatusOK)
		})},
		Security: map[string]core.Authenticator{"accessToken": svc.Verifier(ResourceWebhooks)}}
}

// result is a decoded HTTP answer.
type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (r result) str(k string) string { s, _ := r.body[k].(string); return s }

// post sends a form to path; basic, when set, is "id:secret".
func (e *env) post(path string, form url.Values, basic string) result {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != "" {
		id, secret, _ := strings.Cut(basic, ":")
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) result {
	e.t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	res := result{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &res.body); err != nil {
			e.t.Fatalf("decode %s: %v", raw, err)
		}
	}
	return res
}

// clientToken mints a client-credentials token for appFull.
func (e *env) clientToken(scope string) string {
	e.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	res := e.post("/v1/oauth/token", form, appFull.ClientID+":"+secretFull)
	if res.status != http.StatusOK {
		e.t.Fatalf("token: %d %s", res.status, res.raw)
	}
	return res.str("access_token")
}

// wantOAuthError checks an RFC 6749 §5.2 error answer.
func wantOAuthError(t testing.TB, res result, status int, code string) {
	t.Helper()
	if res.status != status || res.str("error") != code {
		t.Fatalf("got %d %s, want %d error=%s", res.status, res.raw, status, code)
	}
	if cc := res.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
}
