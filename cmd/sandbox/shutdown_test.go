package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedWriter collects the log, written from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRunDrainsThenReportsDroppedDeliveries: on SIGTERM (the context run
// is given ends) with events accepted for a consumer that does not answer,
// the sandbox sends what it can within --shutdown-timeout, logs how many
// deliveries it dropped, and exits 0.
func TestRunDrainsThenReportsDroppedDeliveries(t *testing.T) {
	release := make(chan struct{})
	consumer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer consumer.Close()
	defer close(release)

	ctx, sigterm := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var logs lockedWriter
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--shutdown-timeout", "100ms"}, pw, &logs)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	base := strings.TrimSpace(strings.TrimPrefix(line, "argus-sandbox listening on "))
	post := func(path, body string, want int) {
		t.Helper()
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %s: %s, want %d", path, resp.Status, want)
		}
	}
	post("/_sandbox/webhooks", `{"tenant":"acme","url":"`+consumer.URL+`","events":["case.updated"],"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, http.StatusCreated)
	post("/_sandbox/events", `{"tenant":"acme","topic":"case.updated","count":30}`, http.StatusAccepted)
	sigterm()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code = %d, want %d", code, exitOK)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the sandbox did not stop after its shutdown timeout")
	}
	if want := `level=WARN msg="30 deliveries still queued were dropped"`; !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %s:\n%s", want, logs.String())
	}
}

func TestRunRefusesANonPositiveShutdownTimeout(t *testing.T) {
	var stderr strings.Builder
	if code := run(context.Background(), []string{"--shutdown-timeout", "0s"}, io.Discard, &stderr); code != exitUsage {
		t.Errorf("exit code = %d, want %d", code, exitUsage)
	}
	if want := "--shutdown-timeout 0s: must be positive"; !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr %q lacks %q", stderr.String(), want)
	}
}
