package emulator_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// TestServeShutdownAnswersIdleWaiters: when Serve is told to stop while a
// consumer holds every delivery, an idle waiter is answered 503
// shutting_down (not "idle"), and the drain, cut short by the shutdown
// timeout, still ends in a clean stop. (cmd/sandbox checks the exit code
// and the log of what was dropped.)
func TestServeShutdownAnswersIdleWaiters(t *testing.T) {
	release := make(chan struct{})
	consumer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer consumer.Close()
	defer close(release)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	sb, err := emulator.New(emulator.Config{Issuer: "http://" + ln.Addr().String(), Loopback: true, Logger: log,
		ShutdownTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- emulator.Serve(ctx, sb, ln, log, nil) }()

	bg := context.Background()
	if _, err := sb.Webhooks().Subscribe(bg, "acme", webhooks.Subscription{URL: consumer.URL, Events: []string{"case.updated"}}); err != nil {
		t.Fatal(err)
	}
	const n = 30
	if _, err := sb.Webhooks().TriggerN(bg, "acme", "case.updated", nil, n); err != nil {
		t.Fatal(err)
	}
	idle := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		req := httptest.NewRequest(http.MethodGet, "/_sandbox/webhooks/idle?timeout=5m", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		rec := httptest.NewRecorder()
		sb.Handler().ServeHTTP(rec, req)
		idle <- rec
	}()
	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v, want a clean stop", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Serve did not return after its shutdown timeout")
	}
	rec := <-idle
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusServiceUnavailable || body["code"] != "shutting_down" {
		t.Errorf("idle waiter got %d %s, want 503 shutting_down", rec.Code, rec.Body)
	}
}

// TestTriggerDuringShutdownIsShuttingDown: an event for a subscribed
// endpoint posted to the control plane once the delivery engine stopped
// taking events is answered 503 shutting_down, as an idle waiter is, not 500.
func TestTriggerDuringShutdownIsShuttingDown(t *testing.T) {
	sb, err := emulator.New(emulator.Config{Issuer: "http://127.0.0.1:1", Loopback: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if _, err := sb.Webhooks().Subscribe(context.Background(), "acme", webhooks.Subscription{URL: "http://127.0.0.1:1/hook", Events: []string{"case.updated"}}); err != nil {
		t.Fatal(err)
	}
	sb.Webhooks().Shutdown(context.Background())
	req := httptest.NewRequest(http.MethodPost, "/_sandbox/events", strings.NewReader(`{"tenant":"acme","topic":"case.updated"}`))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "127.0.0.1:40000"
	rec := httptest.NewRecorder()
	sb.Handler().ServeHTTP(rec, req)
	var body map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &body)
	if rec.Code != http.StatusServiceUnavailable || body["code"] != "shutting_down" {
		t.Errorf("trigger during shutdown got %d %s, want 503 shutting_down", rec.Code, rec.Body)
	}
}

// TestWebhookAttemptTimeoutReachesTheEngine: the sandbox hands its attempt
// timeout to the delivery engine, which refuses one outside its bounds.
func TestWebhookAttemptTimeoutReachesTheEngine(t *testing.T) {
	for _, d := range []time.Duration{webhooks.MinAttemptTimeout / 2, webhooks.MaxAttemptTimeout + time.Second} {
		sb, err := emulator.New(emulator.Config{Issuer: "http://127.0.0.1:1", Loopback: true, Logger: slog.New(slog.DiscardHandler),
			WebhookAttemptTimeout: d})
		if err == nil {
			sb.Close()
			t.Errorf("New with a webhook attempt timeout of %s succeeded, want it refused", d)
		} else if !strings.Contains(err.Error(), "AttemptTimeout") {
			t.Errorf("New with a webhook attempt timeout of %s = %v, want the field named", d, err)
		}
	}
	sb, err := emulator.New(emulator.Config{Issuer: "http://127.0.0.1:1", Loopback: true, Logger: slog.New(slog.DiscardHandler),
		WebhookAttemptTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	sb.Close()
}
