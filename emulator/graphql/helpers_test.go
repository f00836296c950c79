package graphql

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/specs"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Fake access tokens of the tests: each names a principal.
var testPrincipals = map[string]*core.Principal{
	"acme-reader":  {Kind: core.KindApp, Tenant: "acme", Subject: "app_reader", ClientID: "cli_reader", Scopes: []string{"cases:read"}},
	"acme-writer":  {Kind: core.KindApp, Tenant: "acme", Subject: "app_writer", ClientID: "cli_writer", Scopes: []string{"cases:read", "cases:write"}},
	"acme-all":     {Kind: core.KindUser, Tenant: "acme", Subject: "usr_acme_alice", ClientID: "cli_web", UserID: "usr_acme_alice", Scopes: []string{"cases:read", "cases:write", "users:read"}},
	"acme-none":    {Kind: core.KindApp, Tenant: "acme", Subject: "app_none", ClientID: "cli_none", Scopes: []string{"webhooks:read"}},
	"acme-partner": {Kind: core.KindApp, Tenant: "acme", Subject: "app_partner", ClientID: "cli_partner", Scopes: []string{"cases:read", "cases:write", "graphql:bundles"}},
	"globex-all":   {Kind: core.KindApp, Tenant: "globex", Subject: "app_globex", ClientID: "cli_globex", Scopes: []string{"cases:read", "cases:write", "users:read", "graphql:bundles"}},
}

// fakeEvents records published events.
type fakeEvents struct {
	mu     sync.Mutex
	events []publishedEvent
}

type publishedEvent struct {
	Tenant, Topic string
	Data          map[string]any
}

func (f *fakeEvents) Publish(_ context.Context, tenant, topic string, data map[string]any) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, publishedEvent{tenant, topic, data})
	return fmt.Sprintf("evt_%d", len(f.events)), nil
}

func (f *fakeEvents) all() []publishedEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]publishedEvent(nil), f.events...)
}

// fakeCapabilities approves curated bundles for the listed tenants.
type fakeCapabilities map[string]bool

func (f fakeCapabilities) TenantHasCapability(_ context.Context, tenant, capability string) bool {
	return capability == "curated_graphql_bundles" && f[tenant]
}

type fakeAudit struct{}

func (fakeAudit) AuditRecords(_ context.Context, tenant string, since time.Time) ([]AuditRecord, error) {
	recs := []AuditRecord{
		{ID: "aud_1", Action: "app.created", Actor: "admin:" + tenant, Target: "app_1", OccurredAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)},
		{ID: "aud_2", Action: "scope.approved", Actor: "admin:" + tenant, OccurredAt: time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)},
	}
	var out []AuditRecord
	for _, r := range recs {
		if !r.OccurredAt.Before(since) {
			out = append(out, r)
		}
	}
	return out, nil
}

// testNow is the frozen virtual time of the tests.
var testNow = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

type harness struct {
	t      testing.TB
	srv    *httptest.Server
	svc    *Service
	events *fakeEvents
	// handler is the router, for in-process benchmarks.
	handler http.Handler
}

func newHarness(t testing.TB, limits Limits) *harness {
	t.Helper()
	clock := core.NewVirtualClock(nil)
	clock.Freeze()
	clock.Set(testNow)
	t.Cleanup(clock.Close)
	ev := &fakeEvents{}
	svc, err := New(Config{
		Clock: clock, IDs: core.NewIDs(bytes.NewReader(bytes.Repeat([]byte{7}, 1<<16))), Fixtures: fixtures.MustDefault(),
		Specs: specs.Default(), Events: ev, Capabilities: fakeCapabilities{"acme": true}, Audit: fakeAudit{}, Limits: limits,
	})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := specs.Load("graphql.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := core.RouterConfig{
		APIs: []core.API{svc.API(doc)},
		IDs:  core.NewIDs(nil),
		Security: map[string]core.Authenticator{"accessToken": core.AuthenticatorFunc(func(_ context.Context, tok string) (*core.Principal, error) {
			if p, ok := testPrincipals[tok]; ok {
				cp := *p
				return &cp, nil
			}
			return nil, core.ErrInvalidToken
		})},
	}
	if _, bench := t.(*testing.B); !bench { // benchmarks measure the server, not the test's spec check
		cfg.CheckResponse = func(r *http.Request, op string, err error) { t.Errorf("response does not match the spec: %v", err) }
	}
	rt, err := core.NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return &harness{t: t, srv: srv, svc: svc, events: ev, handler: rt}
}

// reply is a decoded HTTP response.
type reply struct {
	Status int
	Header http.Header
	Body   map[string]any
}

// post sends body (marshalled unless it is a string) with token.
func (h *harness) post(token string, body any, header ...string) reply {
	h.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			h.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/graphql", bytes.NewReader(raw))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	out := reply{Status: resp.StatusCode, Header: resp.Header}
	if err := json.Unmarshal(data, &out.Body); err != nil {
		h.t.Fatalf("response is not JSON: %v: %s", err, data)
	}
	return out
}

// gql sends a query with variables.
func (h *harness) gql(token, query string, vars map[string]any) map[string]any {
	h.t.Helper()
	body := map[string]any{"query": query}
	if vars != nil {
		body["variables"] = vars
	}
	r := h.post(token, body)
	if r.Status != http.StatusOK {
		h.t.Fatalf("status %d: %v", r.Status, r.Body)
	}
	return r.Body
}

// js parses a JSON literal of a test's expectation.
func js(t testing.TB, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad expectation %s: %v", s, err)
	}
	return v
}

func diff(t testing.TB, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("response mismatch (-want +got):\n%s", d)
	}
}

// checkEventShapes validates each event's data against the schema of its
// topic in the event catalog (fixtures/events.yaml).
func checkEventShapes(t testing.TB, events []publishedEvent) {
	t.Helper()
	for _, e := range events {
		var schema map[string]any
		for _, et := range fixtures.MustDefault().EventTypes {
			if et.Type == e.Topic {
				schema = et.Schema
			}
		}
		if schema == nil {
			t.Errorf("event %s is not in the catalog", e.Topic)
			continue
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("event.json", schema); err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile("event.json")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := json.Marshal(e.Data)
		data, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(data); err != nil {
			t.Errorf("%s data does not match the catalog: %v", e.Topic, err)
		}
	}
}
