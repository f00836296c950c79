package control

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// fakeWebhooks records subscriptions; its WaitIdle blocks until idle is
// closed (nil: idle at once).
type fakeWebhooks struct {
	mu   sync.Mutex
	subs []WebhookSubscription
	err  error
	idle chan struct{}
	// idleErr, when set, is WaitIdle's answer.
	idleErr error
}

func (f *fakeWebhooks) Subscribe(_ context.Context, sub WebhookSubscription) (SandboxWebhook, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return SandboxWebhook{}, f.err
	}
	f.subs = append(f.subs, sub)
	return SandboxWebhook{ID: "wh_1", Tenant: sub.Tenant, URL: sub.URL, Events: sub.Events, Description: sub.Description,
		Secret: sub.Secret, CreatedAt: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}, nil
}

func (f *fakeWebhooks) WaitIdle(ctx context.Context) error {
	if f.idleErr != nil {
		return f.idleErr
	}
	if f.idle == nil {
		return nil
	}
	select {
	case <-f.idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitTenantIdle waits as WaitIdle does: the fake has one tenant's work.
func (f *fakeWebhooks) WaitTenantIdle(ctx context.Context, _ string) error { return f.WaitIdle(ctx) }

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestCreateSandboxWebhook(t *testing.T) {
	unknownTopic := core.NewProblem(http.StatusBadRequest, "unknown_event_type", "Unknown event type",
		`"case.exploded" is not a topic of the event catalog`).WithField("/events/0", "unknown event type")
	tests := []struct {
		name       string
		body       string
		engineErr  error
		noWebhooks bool
		wantStatus int
		wantCode   string
		wantField  string
		want       []WebhookSubscription
	}{
		{name: "created with the given secret",
			body:       `{"tenant":"acme","url":"http://127.0.0.1:9000/hook","events":["case.updated"],"description":"ci","secret":"` + secret + `"}`,
			wantStatus: 201,
			want:       []WebhookSubscription{{Tenant: "acme", URL: "http://127.0.0.1:9000/hook", Events: []string{"case.updated"}, Description: "ci", Secret: secret}}},
		{name: "secret is required", body: `{"tenant":"acme","url":"http://127.0.0.1:9000/hook","events":["case.updated"]}`,
			wantStatus: 400, wantCode: "invalid_request", wantField: "/secret"},
		{name: "malformed secret", body: `{"tenant":"acme","url":"http://x","events":["case.updated"],"secret":"hunter2"}`,
			wantStatus: 400, wantCode: "invalid_request", wantField: "/secret"},
		{name: "no topic", body: `{"tenant":"acme","url":"http://x","events":[],"secret":"` + secret + `"}`,
			wantStatus: 400, wantCode: "invalid_request", wantField: "/events"},
		{name: "unknown tenant", body: `{"tenant":"nobody","url":"http://x","events":["case.updated"],"secret":"` + secret + `"}`,
			wantStatus: 422, wantCode: "unprocessable", wantField: "/tenant"},
		{name: "engine refusal is passed on", body: `{"tenant":"acme","url":"http://x","events":["case.exploded"],"secret":"` + secret + `"}`,
			engineErr: unknownTopic, wantStatus: 400, wantCode: "unknown_event_type", wantField: "/events/0"},
		{name: "no webhooks engine", body: `{"tenant":"acme","url":"http://x","events":["case.updated"],"secret":"` + secret + `"}`,
			noWebhooks: true, wantStatus: 501, wantCode: "not_available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := &fakeWebhooks{err: tt.engineErr}
			e := newEnv(t, func(c *Config) {
				if !tt.noWebhooks {
					c.Webhooks = fw
				}
			})
			status, h, body := e.do(http.MethodPost, "/_sandbox/webhooks", "", tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %v", status, tt.wantStatus, body)
			}
			if tt.wantCode != "" && body["code"] != tt.wantCode {
				t.Errorf("code = %v, want %s", body["code"], tt.wantCode)
			}
			if tt.wantField != "" {
				if f := fields(body); len(f) == 0 || !strings.HasPrefix(f[0], tt.wantField) {
					t.Errorf("fields = %v, want %s", f, tt.wantField)
				}
			}
			if diff := cmp.Diff(tt.want, fw.subs); diff != "" {
				t.Errorf("subscriptions (-want +got)\n%s", diff)
			}
			if status == 201 && (h.Get("Location") != "/v1/webhooks/wh_1" || body["secret"] != secret) {
				t.Errorf("created: Location %q, body %v; want the management URL and the given secret", h.Get("Location"), body)
			}
		})
	}
}

func TestCreateSandboxWebhookNeedsTheOperator(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Webhooks, c.OperatorToken = &fakeWebhooks{}, "op-secret" })
	body := `{"tenant":"acme","url":"http://x","events":["case.updated"],"secret":"` + secret + `"}`
	if status, _, _ := e.do(http.MethodPost, "/_sandbox/webhooks", "", body); status != 401 {
		t.Errorf("without the operator token: status %d, want 401", status)
	}
	if status, _, _ := e.do(http.MethodPost, "/_sandbox/webhooks", "op-secret", body); status != 201 {
		t.Errorf("with the operator token: status %d, want 201", status)
	}
}

func TestWaitWebhooksIdle(t *testing.T) {
	settled := make(chan struct{})
	close(settled)
	tests := []struct {
		name       string
		idle       chan struct{}
		query      string
		wantStatus int
		wantIdle   any
	}{
		{"settled at once", nil, "", 200, true},
		{"settles within the timeout", settled, "?timeout=1s", 200, true},
		{"still busy at the timeout", make(chan struct{}), "?timeout=50ms", 200, false},
		{"timeout above 5m", nil, "?timeout=6m", 400, nil},
		{"zero timeout", nil, "?timeout=0s", 400, nil},
		{"not a duration", nil, "?timeout=soon", 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.Webhooks = &fakeWebhooks{idle: tt.idle} })
			status, _, body := e.do(http.MethodGet, "/_sandbox/webhooks/idle"+tt.query, "", "")
			if status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %v", status, tt.wantStatus, body)
			}
			if status == 200 && (body["idle"] != tt.wantIdle || body["now"] == nil) {
				t.Errorf("body = %v, want idle %v and the clock", body, tt.wantIdle)
			}
		})
	}
}

// TestWaitWebhooksIdleDuringShutdown: a waiter is told the sandbox is
// shutting down (503), never that deliveries settled.
func TestWaitWebhooksIdleDuringShutdown(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Webhooks = &fakeWebhooks{idleErr: fmt.Errorf("engine: %w", ErrShuttingDown)}
	})
	status, h, body := e.do(http.MethodGet, "/_sandbox/webhooks/idle?timeout=10s", "", "")
	if status != http.StatusServiceUnavailable || body["code"] != "shutting_down" || h.Get("Content-Type") != "application/problem+json" {
		t.Errorf("got %d %s %v, want 503 problem shutting_down", status, h.Get("Content-Type"), body)
	}
}

func TestClockReset(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		wantFrozen bool
	}{
		{"back to real time, running", `{"reset":true}`, false},
		{"back to real time, then frozen", `{"reset":true,"freeze":true}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil) // frozen
			e.clock.Set(time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC))
			status, _, body := e.do(http.MethodPost, "/_sandbox/clock", "", tt.body)
			if status != 200 {
				t.Fatalf("status = %d: %v", status, body)
			}
			now, _ := time.Parse(time.RFC3339Nano, body["now"].(string))
			if time.Since(now).Abs() > time.Minute || body["frozen"] != tt.wantFrozen {
				t.Errorf("clock = %v, want real time, frozen %v", body, tt.wantFrozen)
			}
		})
	}
}
