package webhooks

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for the engine's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// slowEngine is an engine whose one endpoint holds every request until
// release is closed (or the request is abandoned), with n events accepted.
func slowEngine(t *testing.T, n int) (s *Service, rc *receiver, release chan struct{}, log *syncBuffer) {
	t.Helper()
	log = &syncBuffer{}
	s, _ = newTestService(t, func(c *Config) { c.Logger = slog.New(slog.NewTextHandler(log, nil)) })
	release = make(chan struct{})
	rc = newReceiver(t, func(_ int, r *http.Request) (int, http.Header, string) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return http.StatusOK, nil, "ok"
	})
	subscribe(t, s, "acme", rc.URL, "case.created")
	if _, err := s.TriggerN(context.Background(), "acme", "case.created", nil, n); err != nil {
		t.Fatal(err)
	}
	for range DefaultPerEndpointConcurrency {
		<-rc.arrived // the endpoint's share of attempts is in flight
	}
	return s, rc, release, log
}

// TestShutdownDeliversWhatWasAccepted: a shutdown refuses new events and
// answers idle waiters at once that the engine is shutting down, but keeps
// delivering the events it accepted until none is left.
func TestShutdownDeliversWhatWasAccepted(t *testing.T) {
	const n = 40
	s, rc, release, log := slowEngine(t, n)
	idle := make(chan error, 1)
	go func() { idle <- s.WaitIdle(context.Background()) }()
	dropped := make(chan int, 1)
	go func() { dropped <- s.Shutdown(context.Background()) }()
	if err := <-idle; !errors.Is(err, ErrClosed) {
		t.Errorf("a waiter for idle during shutdown got %v, want ErrClosed (not idle)", err)
	}
	// The waiter's answer shows the shutdown has begun.
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("an event during shutdown got %v, want ErrClosed", err)
	}
	close(release)
	if got := <-dropped; got != 0 {
		t.Errorf("Shutdown dropped %d deliveries, want 0 once the endpoint answered", got)
	}
	if got := len(rc.requests()); got != n {
		t.Errorf("endpoint got %d events, want the %d accepted", got, n)
	}
	if strings.Contains(log.String(), "dropped") {
		t.Errorf("log reports drops after a full drain:\n%s", log)
	}
}

// TestShutdownDropsWhatTheDeadlineLeaves: when the drain's context ends,
// the attempts in flight are abandoned and the queued deliveries dropped,
// and the log says how many.
func TestShutdownDropsWhatTheDeadlineLeaves(t *testing.T) {
	const n = 40
	s, rc, release, log := slowEngine(t, n)
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	dropped := make(chan int, 1)
	go func() { dropped <- s.Shutdown(ctx) }()
	cancel()
	select {
	case got := <-dropped:
		if got != n {
			t.Errorf("Shutdown dropped %d deliveries, want %d (none was answered)", got, n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown waited for the attempts in flight after its context ended")
	}
	if want := "40 deliveries still queued were dropped"; !strings.Contains(log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, log)
	}
	if !strings.Contains(log.String(), "level=WARN") {
		t.Errorf("the drop is not logged as a warning:\n%s", log)
	}
	if got := len(rc.requests()); got != DefaultPerEndpointConcurrency {
		t.Errorf("endpoint got %d requests, want only the %d in flight at the deadline", got, DefaultPerEndpointConcurrency)
	}
}
