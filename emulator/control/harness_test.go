package control

import (
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
	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/specs"
)

// env is a control plane behind the spec-driven router, with fakes for
// every surface it drives.
type env struct {
	t      *testing.T
	clock  *core.VirtualClock
	faults *faults.Engine
	reset  *fakeResetter
	events *fakeEvents
	keys   *fakeKeys
	access *fakeAccess
	srv    *httptest.Server
}

// startRule is the rule the --faults file would have loaded.
var startRule = faults.Rule{Name: "from-file", Action: faults.Action{TokenExpiry: &faults.TokenExpiry{}}}

func newEnv(t *testing.T, mutate func(*Config)) *env {
	t.Helper()
	clock := core.NewVirtualClock(nil)
	clock.Freeze()
	t.Cleanup(clock.Close)
	eng, err := faults.New(faults.Config{Clock: clock, IDs: core.NewIDs(nil), Rules: []faults.Rule{startRule}})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: clock, faults: eng, reset: &fakeResetter{}, events: &fakeEvents{}, keys: &fakeKeys{},
		access: &fakeAccess{decided: map[string]bool{"areq_done": true}, known: map[string]bool{"areq_1": true, "areq_done": true}}}
	cfg := Config{Clock: clock, Fixtures: fixtures.MustDefault(), Specs: specs.Default(), Resetter: e.reset,
		Events: e.events, Keys: e.keys, Access: e.access, Faults: eng, Loopback: true}
	if mutate != nil {
		mutate(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := specs.Load("sandbox.yaml")
	if err != nil {
		t.Fatal(err)
	}
	router, err := core.NewRouter(core.RouterConfig{
		APIs: []core.API{svc.API(doc)},
		IDs:  core.NewIDs(nil),
		Wrap: eng.Wrap,
		CheckResponse: func(r *http.Request, op string, err error) {
			t.Errorf("response of %s does not match the spec: %v", op, err)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(router)
	t.Cleanup(e.srv.Close)
	return e
}

// do sends a request and decodes a JSON reply into a map.
func (e *env) do(method, path, token, body string) (int, http.Header, map[string]any) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && strings.Contains(resp.Header.Get("Content-Type"), "json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// fields lists the field names of a problem's errors.
func fields(body map[string]any) []string {
	var out []string
	errs, _ := body["errors"].([]any)
	for _, e := range errs {
		m, _ := e.(map[string]any)
		out = append(out, fmt.Sprint(m["field"]))
	}
	return out
}

type fakeResetter struct {
	mu    sync.Mutex
	calls []bool
	err   error
}

func (f *fakeResetter) Reset(_ context.Context, keepApps bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, keepApps)
	return f.err
}

type fakeEvents struct {
	mu    sync.Mutex
	calls []string
	err   error
}

// TriggerN records the call ("tenant topic overrides", with " xN" when
// n > 1) and returns the ids evt_1…evt_n, or, with err set, the first
// published id and err.
func (f *fakeEvents) TriggerN(_ context.Context, tenant, topic string, overrides map[string]any, n int) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	call := fmt.Sprintf("%s %s %v", tenant, topic, overrides)
	if n > 1 {
		call += fmt.Sprintf(" x%d", n)
	}
	f.calls = append(f.calls, call)
	if f.err != nil {
		return []string{"evt_1"}, f.err
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("evt_%d", i+1)
	}
	return ids, nil
}

type fakeKeys struct {
	mu      sync.Mutex
	rotated int
	stale   []time.Duration
}

func (f *fakeKeys) RotateKeys(_ context.Context, stale time.Duration) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rotated++
	f.stale = append(f.stale, stale)
	return fmt.Sprintf("kid_%d", f.rotated+1), nil
}

type fakeAccess struct {
	mu      sync.Mutex
	known   map[string]bool
	decided map[string]bool
}

func (f *fakeAccess) DecideAccessRequest(_ context.Context, _, id string, approve bool, reason string) (AccessDecision, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.known[id] {
		return AccessDecision{}, fmt.Errorf("access request %s: %w", id, ErrNotFound)
	}
	if f.decided[id] {
		return AccessDecision{}, fmt.Errorf("access request %s: %w", id, ErrConflict)
	}
	f.decided[id] = true
	status := "denied"
	if approve {
		status = "approved"
	}
	return AccessDecision{ID: id, Tenant: "acme", Capability: "curated_graphql_bundles", Status: status, Reason: reason,
		DecidedAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
}
