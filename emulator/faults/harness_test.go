package faults

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/specs"
)

// testSpec is a small contract: a JSON resource, a create operation and a
// form-encoded token endpoint, enough to exercise every HTTP action.
const testSpec = `
openapi: 3.0.3
info: {title: Faults test, version: 1.0.0}
paths:
  /v1/things/{thing_id}:
    get:
      operationId: getThing
      security: [{adminToken: []}]
      parameters:
        - {name: thing_id, in: path, required: true, schema: {type: string}}
      responses:
        '200': {description: ok}
  /v1/things:
    post:
      operationId: createThing
      security: [{adminToken: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses:
        '201': {description: created}
  /v1/oauth/token:
    post:
      operationId: issueToken
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                grant_type: {type: string}
                client_id: {type: string}
      responses:
        '200': {description: ok}
components:
  securitySchemes:
    adminToken: {type: http, scheme: bearer}
`

// thingBody is what getThing answers: long enough to truncate and drip.
const thingBody = `{"id":"thing_1","name":"Case sync connector","status":"active"}`

// harness is an httptest server routing testSpec through an Engine.
type harness struct {
	t      *testing.T
	clock  *core.VirtualClock
	engine *Engine
	srv    *httptest.Server
	served atomic.Int32 // handler calls
	keys   *fakeKeys
}

// harnessConfig is what a harness option may change: the engine's
// configuration and the error writer of the test API.
type harnessConfig struct {
	Config
	errors core.ErrorWriter
}

type harnessOption func(*harnessConfig)

func newHarness(t *testing.T, rules []Rule, opts ...harnessOption) *harness {
	t.Helper()
	clock := core.NewVirtualClock(nil)
	clock.Freeze()
	t.Cleanup(clock.Close)
	h := &harness{t: t, clock: clock, keys: &fakeKeys{}}
	cfg := harnessConfig{Config: Config{Clock: clock, IDs: core.NewIDs(nil), Seed: 42, Rules: rules, Keys: h.keys}}
	for _, o := range opts {
		o(&cfg)
	}
	e, err := New(cfg.Config)
	if err != nil {
		t.Fatal(err)
	}
	h.engine = e
	doc, err := specs.LoadSpec("test.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	handler := func(status int, body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.served.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		})
	}
	router, err := core.NewRouter(core.RouterConfig{
		APIs: []core.API{{Name: "things", Doc: doc, Handlers: map[string]http.Handler{
			"getThing":    handler(http.StatusOK, thingBody),
			"createThing": handler(http.StatusCreated, `{"id":"thing_2"}`),
			"issueToken":  handler(http.StatusOK, `{"access_token":"x","token_type":"Bearer","expires_in":3600}`),
		}, Errors: cfg.errors}},
		Security: map[string]core.Authenticator{"adminToken": core.AuthenticatorFunc(
			// The bearer is "tenant" or "tenant:client_id".
			func(_ context.Context, token string) (*core.Principal, error) {
				tenant, client, _ := strings.Cut(token, ":")
				return &core.Principal{Kind: core.KindApp, Tenant: tenant, ClientID: client}, nil
			})},
		IDs:  core.NewIDs(nil),
		Wrap: e.Wrap,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(router)
	t.Cleanup(h.srv.Close)
	return h
}

// client returns a client that never reuses connections, so a dropped
// connection is never silently retried by the transport.
func (h *harness) client() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

func (h *harness) get(token string) (*http.Response, error) {
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/v1/things/thing_1", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return h.client().Do(req)
}

// getLater sends get in the background; the channel receives its reply,
// or nil after reporting an error.
func (h *harness) getLater(token string) <-chan *http.Response {
	done := make(chan *http.Response, 1)
	go func() {
		resp, err := h.get(token)
		if err != nil {
			h.t.Error(err)
		}
		done <- resp
	}()
	return done
}

// waitPending blocks until n timers wait on the virtual clock, so an
// Advance is sure to find the work it should release.
func (h *harness) waitPending(n int) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.clock.State().Pending < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %d pending timers", n)
		}
		time.Sleep(time.Millisecond)
	}
}

type fakeKeys struct {
	mu      sync.Mutex
	rotated int
	stale   []time.Duration
}

func (k *fakeKeys) RotateKeys(_ context.Context, stale time.Duration) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.rotated++
	if stale > 0 {
		k.stale = append(k.stale, stale)
	}
	return "kid_2", nil
}

func (k *fakeKeys) StaleJWKS(d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stale = append(k.stale, d)
}

func rule(name string, m Match, w When, a Action) Rule {
	return Rule{Name: name, Match: m, When: w, Action: a}
}

func prob(p float64) *float64 { return &p }

func intp(n int) *int { return &n }

// firings lists e's logged firings f selects.
func firings(t testing.TB, e *Engine, f EventFilter) []Event {
	t.Helper()
	evs, err := e.Events(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}
