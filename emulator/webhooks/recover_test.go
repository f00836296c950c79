package webhooks

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// auditLog records what the engine writes to the audit trail.
type auditLog struct {
	mu      sync.Mutex
	actions []string
}

func (a *auditLog) RecordAudit(_ context.Context, _ *core.Principal, action, target string, _ map[string]any) {
	a.mu.Lock()
	a.actions = append(a.actions, action+" "+target)
	a.mu.Unlock()
}

type recoveryAnswer struct {
	RecoveryID string `json:"recovery_id"`
	Deliveries int    `json:"deliveries"`
	Code       string `json:"code"`
}

// TestRecoverResendsFailedDeliveries: deliveries that failed while the
// receiver was down are sent again, same event ids, once the receiver is
// back; a recover sent while they are pending answers the running
// recovery; each recovery is in the audit trail once.
func TestRecoverResendsFailedDeliveries(t *testing.T) {
	audit := &auditLog{}
	s, clock := newTestService(t, func(c *Config) { c.Schedule = []time.Duration{}; c.Audit = audit })
	var mu sync.Mutex
	up := false
	release := make(chan struct{})
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		mu.Lock()
		ok := up
		mu.Unlock()
		if !ok {
			return http.StatusInternalServerError, nil, "down"
		}
		<-release // the recovery stays pending until the test lets it finish
		return http.StatusOK, nil, "ok"
	})
	ctx := context.Background()
	w := subscribe(t, s, "acme", rc.URL, "case.updated")
	start := clock.Now()
	var events []string
	for range 3 {
		id, err := s.Trigger(ctx, "acme", "case.updated", nil)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, id)
	}
	waitIdle(t, s)
	failed, _ := s.Deliveries(ctx, "acme", w.ID, DeliveryFilter{Status: StatusFailed})
	if len(failed) != 3 {
		t.Fatalf("failed deliveries: %d, want 3", len(failed))
	}
	mu.Lock()
	up = true
	mu.Unlock()
	srv := apiServer(t, s)
	path := "/v1/webhooks/" + w.ID + "/recover"
	window := map[string]any{"since": start.Add(-time.Minute)}
	var first, second recoveryAnswer
	if st, _ := call(t, srv, http.MethodPost, path, "app:acme:webhooks:write", window, &first); st != 202 || first.Deliveries != 3 {
		t.Fatalf("recover: %d %+v", st, first)
	}
	if st, _ := call(t, srv, http.MethodPost, path, "sandbox_admin_acme", window, &second); st != 202 || second != first {
		t.Errorf("recover while running: %d %+v, want %+v", st, second, first)
	}
	close(release)
	waitIdle(t, s)
	if ok, _ := s.Deliveries(ctx, "acme", w.ID, DeliveryFilter{Status: StatusSucceeded}); len(ok) != 3 {
		t.Errorf("succeeded after recovery: %d, want 3", len(ok))
	}
	got := rc.requests()
	if len(got) != 6 {
		t.Fatalf("requests: %d, want 3 failed + 3 recovered", len(got))
	}
	seen := map[string]bool{}
	for _, r := range got[3:] {
		seen[r.Header.Get("webhook-id")] = true
	}
	for _, id := range events {
		if !seen[id] {
			t.Errorf("event %s was not sent again with its own webhook-id (got %v)", id, seen)
		}
	}
	var third recoveryAnswer
	if st, _ := call(t, srv, http.MethodPost, path, "sandbox_admin_acme", window, &third); st != 202 || third.Deliveries != 0 || third.RecoveryID == first.RecoveryID {
		t.Errorf("recover after the recovery finished: %d %+v", st, third)
	}
	audit.mu.Lock()
	if len(audit.actions) != 2 || audit.actions[0] != "webhook.recovered "+w.ID {
		t.Errorf("audit trail: %v", audit.actions)
	}
	audit.mu.Unlock()
}

// TestRecoverRefusals: the window is checked, a disabled webhook must be
// enabled first, reading scope is not enough, another tenant's webhook is
// not found.
func TestRecoverRefusals(t *testing.T) {
	s, clock := newTestService(t, nil)
	srv := apiServer(t, s)
	w := subscribe(t, s, "acme", "http://127.0.0.1:1/hook", "case.updated")
	now := clock.Now()
	path := "/v1/webhooks/" + w.ID + "/recover"
	for _, tc := range []struct {
		name  string
		token string
		body  map[string]any
		want  int
		code  string
	}{
		{"future", "sandbox_admin_acme", map[string]any{"since": now.Add(time.Hour)}, 400, "invalid_request"},
		{"too old", "sandbox_admin_acme", map[string]any{"since": now.Add(-15 * 24 * time.Hour)}, 400, "invalid_request"},
		{"until before since", "sandbox_admin_acme", map[string]any{"since": now.Add(-time.Hour), "until": now.Add(-2 * time.Hour)}, 400, "invalid_request"},
		{"no since", "sandbox_admin_acme", map[string]any{}, 400, "invalid_request"},
		{"read scope", "app:acme:webhooks:read", map[string]any{"since": now.Add(-time.Hour)}, 403, "insufficient_scope"},
		{"other tenant", "sandbox_admin_globex", map[string]any{"since": now.Add(-time.Hour)}, 404, "not_found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out recoveryAnswer
			if st, _ := call(t, srv, http.MethodPost, path, tc.token, tc.body, &out); st != tc.want || out.Code != tc.code {
				t.Errorf("%d %q, want %d %q", st, out.Code, tc.want, tc.code)
			}
		})
	}
	disabled := false
	if _, err := s.Update(context.Background(), "acme", w.ID, WebhookChange{Enabled: &disabled}); err != nil {
		t.Fatal(err)
	}
	var out recoveryAnswer
	if st, _ := call(t, srv, http.MethodPost, path, "sandbox_admin_acme", map[string]any{"since": now.Add(-time.Hour)}, &out); st != 409 || out.Code != "webhook_disabled" {
		t.Errorf("disabled webhook: %d %+v", st, out)
	}
}

// TestRecoveriesGoWithTheirWebhook: the engine remembers a webhook's
// latest recovery only while the webhook exists, so deleting webhooks
// (one, or a tenant's) leaves nothing of them in memory.
func TestRecoveriesGoWithTheirWebhook(t *testing.T) {
	s, clock := newTestService(t, func(c *Config) { c.Schedule = []time.Duration{} })
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		return http.StatusInternalServerError, nil, "down"
	})
	ctx := context.Background()
	var hooks []Webhook
	for _, tenant := range []string{"acme", "acme", "globex"} {
		hooks = append(hooks, subscribe(t, s, tenant, rc.URL, "case.updated"))
	}
	for _, w := range hooks {
		if _, _, err := s.Recover(ctx, w.Tenant, w.ID, clock.Now().Add(-time.Minute), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	remembered := func() int {
		s.recov.mu.Lock()
		defer s.recov.mu.Unlock()
		return len(s.recov.latest)
	}
	if n := remembered(); n != 3 {
		t.Fatalf("%d recoveries remembered, want 3", n)
	}
	if err := s.Delete(ctx, "acme", hooks[0].ID); err != nil {
		t.Fatal(err)
	}
	if n := remembered(); n != 2 {
		t.Errorf("after deleting a webhook %d recoveries remembered, want 2", n)
	}
	if err := s.DeleteTenant(ctx, "globex"); err != nil {
		t.Fatal(err)
	}
	if n := remembered(); n != 1 {
		t.Errorf("after deleting globex %d recoveries remembered, want acme's one", n)
	}
}
