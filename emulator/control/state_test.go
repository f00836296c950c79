package control

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/internal/schemaissue"
	"github.com/knogin/argus-sandbox/specs"
)

func TestOperatorAuthentication(t *testing.T) {
	tests := []struct {
		name       string
		token      string // configured operator token
		path       string
		bearer     string
		wantStatus int
	}{
		{"open loopback without bearer", "", "/_sandbox/clock", "", 200},
		{"open loopback with any bearer", "", "/_sandbox/clock", "anything", 200},
		{"token required, none sent", "op-secret", "/_sandbox/clock", "", 401},
		{"token required, wrong one", "op-secret", "/_sandbox/clock", "op-secreT", 401},
		{"token required, a prefix of it", "op-secret", "/_sandbox/clock", "op-secre", 401},
		{"token required, right one", "op-secret", "/_sandbox/clock", "op-secret", 200},
		{"token required, faults too", "op-secret", "/_sandbox/faults", "", 401},
		{"health is public", "op-secret", "/healthz", "", 200},
		{"specs are public", "op-secret", "/openapi/sandbox.yaml", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.OperatorToken = tt.token })
			status, h, _ := e.do(http.MethodGet, tt.path, tt.bearer, "")
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if status == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %q", h.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestNewRefusesAnOpenControlPlaneBeyondLoopback(t *testing.T) {
	_, err := New(Config{Clock: nil, Loopback: false})
	if err == nil || !strings.Contains(err.Error(), "operator token is required") || !strings.Contains(err.Error(), "Config.Clock") {
		t.Errorf("err = %v, want every problem including the missing operator token", err)
	}
	svc, err := New(Config{Clock: newEnv(t, nil).clock, Faults: &faults.Engine{}, Fixtures: fixtures.MustDefault(), Specs: specs.Default(), OperatorToken: "tok"})
	if err != nil || svc.open {
		t.Errorf("beyond loopback with a token: %v, open=%v", err, svc != nil && svc.open)
	}
}

func TestLoopbackAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"[::1]:8080", true},
		{"localhost:8080", true},
		{"127.1.2.3:80", true},
		{"0.0.0.0:8080", false},
		{":8080", false},
		{"[::]:8080", false},
		{"192.168.1.5:8080", false},
		{"sandbox:8080", false},
		{"garbage", false},
	}
	for _, tt := range tests {
		if got := LoopbackAddr(tt.addr); got != tt.want {
			t.Errorf("LoopbackAddr(%q) = %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestClock(t *testing.T) {
	base := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantNow    time.Time
		wantFrozen bool
		wantField  string
	}{
		{"advance", `{"advance":"1h30m"}`, 200, base.Add(90 * time.Minute), true, ""},
		{"set backwards", `{"set":"2029-01-01T00:00:00Z"}`, 200, time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC), true, ""},
		{"freeze and advance", `{"freeze":true,"advance":"10s"}`, 200, base.Add(10 * time.Second), true, ""},
		{"negative advance", `{"advance":"-1s"}`, 400, time.Time{}, false, "/advance"},
		{"advance and set", `{"advance":"1s","set":"2030-01-01T00:00:00Z"}`, 400, time.Time{}, false, "/set"},
		{"unknown field", `{"rewind":"1s"}`, 400, time.Time{}, false, "/rewind"},
		{"empty", `{}`, 400, time.Time{}, false, "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.clock.Set(base)
			status, _, body := e.do(http.MethodPost, "/_sandbox/clock", "", tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %v", status, tt.wantStatus, body)
			}
			if tt.wantField != "" {
				if f := fields(body); len(f) == 0 || !strings.HasPrefix(f[0], tt.wantField) {
					t.Errorf("fields = %v, want %s", f, tt.wantField)
				}
				return
			}
			now, _ := time.Parse(time.RFC3339Nano, body["now"].(string))
			if !now.Equal(tt.wantNow) || body["frozen"] != tt.wantFrozen {
				t.Errorf("clock = %v, want now %v frozen %v", body, tt.wantNow, tt.wantFrozen)
			}
		})
	}
}

func TestClockAdvanceRunsDueWork(t *testing.T) {
	e := newEnv(t, nil)
	ran := make(chan struct{})
	e.clock.AfterFunc(time.Hour, func() { close(ran) })
	if status, _, body := e.do(http.MethodGet, "/_sandbox/clock", "", ""); status != 200 || body["pending_timers"] != 1.0 {
		t.Fatalf("GET clock = %d %v, want one pending timer", status, body)
	}
	e.do(http.MethodPost, "/_sandbox/clock", "", `{"advance":"59m"}`)
	select {
	case <-ran:
		t.Fatal("work ran before it was due")
	default:
	}
	e.do(http.MethodPost, "/_sandbox/clock", "", `{"advance":"1m"}`)
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("advancing the clock did not run the due work")
	}
	if _, _, body := e.do(http.MethodPost, "/_sandbox/clock", "", `{"freeze":false}`); body["frozen"] != false {
		t.Errorf("unfreeze left the clock frozen: %v", body)
	}
}

func TestReset(t *testing.T) {
	e := newEnv(t, nil)
	if status, _, _ := e.do(http.MethodPost, "/_sandbox/faults", "", `{"name":"added","action":{"malformed":{}}}`); status != 201 {
		t.Fatalf("adding a rule: %d", status)
	}
	e.faults.MatchToken(faults.TokenInfo{})
	e.clock.Advance(24 * time.Hour)

	status, _, body := e.do(http.MethodPost, "/_sandbox/reset", "", `{"keep_apps":true}`)
	if status != 200 || body["kept_apps"] != true {
		t.Fatalf("reset = %d %v", status, body)
	}
	if diff := cmp.Diff([]bool{true}, e.reset.calls); diff != "" {
		t.Errorf("surfaces reset with keep_apps (-want +got):\n%s", diff)
	}
	rules := e.faults.Rules()
	fired, err := e.faults.Events(context.Background(), faults.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || rules[0].Name != startRule.Name || rules[0].Matched != 0 || len(fired) != 0 {
		t.Errorf("faults after reset = %+v, want the start rules with fresh counters", rules)
	}
	if st := e.clock.State(); st.Frozen || time.Since(st.Now).Abs() > time.Minute {
		t.Errorf("clock after reset = %+v, want real time, running", st)
	}
	if status, _, _ := e.do(http.MethodPost, "/_sandbox/reset", "", ""); status != 200 || e.reset.calls[1] {
		t.Errorf("reset without a body: %d, keep_apps %v", status, e.reset.calls)
	}
	e.reset.err = errors.New("store unavailable")
	if status, _, body := e.do(http.MethodPost, "/_sandbox/reset", "", ""); status != 500 || body["code"] != "internal_error" {
		t.Errorf("failing reset = %d %v, want 500 internal_error", status, body)
	}
}

func TestTriggerEvent(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		mutate     func(*Config)
		wantStatus int
		wantFields []string
		wantCall   string
		wantIDs    int
	}{
		{name: "published", body: `{"tenant":"acme","topic":"case.updated","data":{"status":"CLOSED"}}`, wantStatus: 202,
			wantCall: "acme case.updated map[status:CLOSED]", wantIDs: 1},
		{name: "count", body: `{"tenant":"acme","topic":"case.updated","count":100}`, wantStatus: 202,
			wantCall: "acme case.updated map[] x100", wantIDs: 100},
		{name: "count of one", body: `{"tenant":"acme","topic":"case.updated","count":1}`, wantStatus: 202,
			wantCall: "acme case.updated map[]", wantIDs: 1},
		{name: "count zero", body: `{"tenant":"acme","topic":"case.updated","count":0}`, wantStatus: 400, wantFields: []string{"/count"}},
		{name: "count above 1000", body: `{"tenant":"acme","topic":"case.updated","count":1001}`, wantStatus: 400, wantFields: []string{"/count"}},
		{name: "count not an integer", body: `{"tenant":"acme","topic":"case.updated","count":2.5}`, wantStatus: 400, wantFields: []string{"/count"}},
		{name: "unknown tenant and topic", body: `{"tenant":"initech","topic":"case.exploded"}`, wantStatus: 422, wantFields: []string{"/tenant", "/topic"}},
		{name: "missing topic", body: `{"tenant":"acme"}`, wantStatus: 400, wantFields: []string{"/topic"}},
		{name: "no webhooks engine", body: `{"tenant":"acme","topic":"case.updated"}`, mutate: func(c *Config) { c.Events = nil }, wantStatus: 501},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.mutate)
			status, _, body := e.do(http.MethodPost, "/_sandbox/events", "", tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %v", status, tt.wantStatus, body)
			}
			if diff := cmp.Diff(tt.wantFields, fields(body)); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
			if status != 202 {
				if len(e.events.calls) != 0 {
					t.Errorf("trigger calls %v, want none", e.events.calls)
				}
				return
			}
			ids, _ := body["event_ids"].([]any)
			if body["event_id"] != "evt_1" || len(ids) != tt.wantIDs || ids[0] != "evt_1" || ids[len(ids)-1] != fmt.Sprintf("evt_%d", tt.wantIDs) {
				t.Errorf("body %v, want event_id evt_1 and event_ids evt_1…evt_%d", body, tt.wantIDs)
			}
			if diff := cmp.Diff([]string{tt.wantCall}, e.events.calls); diff != "" {
				t.Errorf("trigger calls (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTriggerEventFails: a failing engine is a 500 that says how many of
// the events were published before the failure.
func TestTriggerEventFails(t *testing.T) {
	e := newEnv(t, nil)
	e.events.err = errors.New("store unavailable")
	status, _, body := e.do(http.MethodPost, "/_sandbox/events", "", `{"tenant":"acme","topic":"case.updated","count":3}`)
	detail, _ := body["detail"].(string)
	if status != 500 || body["code"] != "internal_error" || !strings.Contains(detail, "1 of 3 events were published") {
		t.Errorf("failing trigger = %d %v", status, body)
	}
}

// TestTriggerEventDuringShutdown: events refused because the sandbox is
// shutting down are a 503 shutting_down, not a 500, and the detail still
// says how many were published before the refusal.
func TestTriggerEventDuringShutdown(t *testing.T) {
	e := newEnv(t, nil)
	e.events.err = fmt.Errorf("engine: %w", ErrShuttingDown)
	status, h, body := e.do(http.MethodPost, "/_sandbox/events", "", `{"tenant":"acme","topic":"case.updated","count":3}`)
	detail, _ := body["detail"].(string)
	if status != http.StatusServiceUnavailable || body["code"] != "shutting_down" || h.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(detail, "1 of 3 events were published") {
		t.Errorf("trigger during shutdown = %d %s %v, want 503 problem shutting_down", status, h.Get("Content-Type"), body)
	}
}

func TestRotateKeys(t *testing.T) {
	e := newEnv(t, nil)
	e.clock.Set(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	status, _, body := e.do(http.MethodPost, "/_sandbox/keys/rotate", "", `{"stale_jwks":"30s"}`)
	if status != 200 || body["kid"] != "kid_2" || body["stale_jwks_until"] != "2030-01-01T00:00:30Z" {
		t.Errorf("rotate = %d %v", status, body)
	}
	if status, _, body := e.do(http.MethodPost, "/_sandbox/keys/rotate", "", ""); status != 200 || body["kid"] != "kid_3" || body["stale_jwks_until"] != nil {
		t.Errorf("rotate without body = %d %v", status, body)
	}
	// The window goes with the rotation itself: the new kid is never
	// served before it ends.
	if diff := cmp.Diff([]time.Duration{30 * time.Second, 0}, e.keys.stale); diff != "" {
		t.Errorf("stale JWKS (-want +got):\n%s", diff)
	}
	e = newEnv(t, func(c *Config) { c.Keys = nil })
	if status, _, body := e.do(http.MethodPost, "/_sandbox/keys/rotate", "", ""); status != 501 || body["code"] != "not_available" {
		t.Errorf("without a token service = %d %v", status, body)
	}
}

func TestDecideAccessRequest(t *testing.T) {
	tests := []struct {
		name       string
		id, body   string
		wantStatus int
		wantCode   string
	}{
		{"approve", "areq_1", `{"decision":"approve","reason":"partner program"}`, 200, ""},
		{"unknown", "areq_404", `{"decision":"deny"}`, 404, "not_found"},
		{"already decided", "areq_done", `{"decision":"approve"}`, 409, "conflict"},
		{"bad decision", "areq_1", `{"decision":"maybe"}`, 400, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			status, _, body := e.do(http.MethodPost, "/_sandbox/access-requests/"+tt.id+"/decision", "", tt.body)
			if status != tt.wantStatus || tt.wantCode != "" && body["code"] != tt.wantCode {
				t.Fatalf("got %d %v, want %d %s", status, body, tt.wantStatus, tt.wantCode)
			}
			if status == 200 && (body["status"] != "approved" || body["reason"] != "partner program") {
				t.Errorf("decision = %v", body)
			}
		})
	}
}

func TestClockRange(t *testing.T) {
	base := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		body       string
		wantStatus int
		wantField  string
		wantIn     string
	}{
		{"set at the end of time", `{"set":"9999-12-31T23:59:59Z"}`, 400, "/set", "out of range"},
		{"set before 1970", `{"set":"1969-12-31T23:59:59Z"}`, 400, "/set", "out of range"},
		{"set just before the bound", `{"set":"2199-12-31T23:59:59Z"}`, 200, "", ""},
		{"set to 1970", `{"set":"1970-01-01T00:00:00Z"}`, 200, "", ""},
		{"advance past the bound", `{"advance":"1500000h"}`, 400, "/advance", "too far"},
		{"advance out of Go's range", `{"advance":"9999999999h"}`, 400, "/advance", "positive duration"},
		{"negative advance", `{"advance":"-10m"}`, 400, "/advance", "must be a positive duration"},
		{"unreadable advance", `{"advance":"soon"}`, 400, "/advance", "must be a positive duration"},
		{"stale JWKS beyond 30 days", `{"stale_jwks":"8760h"}`, 400, "/stale_jwks", "at most 720h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.clock.Set(base)
			path := "/_sandbox/clock"
			if strings.Contains(tt.body, "stale_jwks") {
				path = "/_sandbox/keys/rotate"
			}
			status, _, body := e.do(http.MethodPost, path, "", tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %v", status, tt.wantStatus, body)
			}
			if tt.wantField == "" {
				return
			}
			errs, _ := body["errors"].([]any)
			for _, fe := range errs {
				m, _ := fe.(map[string]any)
				if m["field"] == tt.wantField && strings.Contains(m["reason"].(string), tt.wantIn) {
					if !e.clock.Now().Equal(base) {
						t.Errorf("the clock moved to %v", e.clock.Now())
					}
					return
				}
			}
			t.Errorf("errors %v do not name %s (%q)", errs, tt.wantField, tt.wantIn)
		})
	}
}

// dataIssuesError is an engine's refusal of overrides that break the
// topic's schema.
type dataIssuesError []schemaissue.Issue

func (e dataIssuesError) Error() string                   { return "data does not match" }
func (e dataIssuesError) DataIssues() []schemaissue.Issue { return e }

// TestTriggerEventDataBreaksSchema: overrides the engine refuses as
// breaking the topic's schema are a 422 naming each field under /data.
func TestTriggerEventDataBreaksSchema(t *testing.T) {
	e := newEnv(t, nil)
	e.events.err = fmt.Errorf("trigger: %w", dataIssuesError{{Field: "/case/status", Reason: "got number, want string"}, {Field: "/", Reason: "missing property 'actor'"}})
	status, _, body := e.do(http.MethodPost, "/_sandbox/events", "", `{"tenant":"acme","topic":"case.updated","data":{"case":{"status":42}}}`)
	if status != 422 || body["code"] != "unprocessable" {
		t.Fatalf("status %d %v, want 422 unprocessable", status, body)
	}
	if diff := cmp.Diff([]string{"/data/case/status", "/data"}, fields(body)); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}
