package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is a log sink the delivery workers write to concurrently.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

type recordingObserver struct {
	mu       sync.Mutex
	events   []Event
	attempts []AttemptReport
}

func (o *recordingObserver) EventPublished(e Event) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, e)
}

func (o *recordingObserver) AttemptMade(a AttemptReport) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts = append(o.attempts, a)
}

// TestDeliveryAttemptLogAndObserver fails one attempt and checks its log
// line and what the observer heard.
func TestDeliveryAttemptLogAndObserver(t *testing.T) {
	var logs lockedBuffer
	obs := &recordingObserver{}
	s, _ := newTestService(t, func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		c.Observer = obs
	})
	rc := newReceiver(t, statusOf(500))
	w := subscribe(t, s, "acme", rc.URL, "case.created")
	id, err := s.Trigger(context.Background(), "acme", "case.created", nil)
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.events) != 1 || obs.events[0].ID != id || len(obs.attempts) != 1 {
		t.Fatalf("observer heard events %+v, attempts %+v", obs.events, obs.attempts)
	}
	a := obs.attempts[0]
	if a.EventID != id || a.WebhookID != w.ID || a.Attempt != 1 || a.Status != 500 ||
		a.Classification != string(ClassNon2xx) || a.NextRetryAt.IsZero() {
		t.Errorf("attempt report %+v", a)
	}
	var line map[string]any
	for l := range strings.SplitSeq(strings.TrimSpace(logs.b.String()), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "delivery attempt" {
			line = m
		}
	}
	if line == nil || line["event_id"] != id || line["webhook_id"] != w.ID || line["status"] != float64(500) ||
		line["classification"] != "non_2xx" || line["attempt"] != float64(1) {
		t.Errorf("delivery attempt log line %v in:\n%s", line, logs.b.String())
	}
	if _, ok := line["latency_ms"]; !ok {
		t.Errorf("the log line has no latency: %v", line)
	}
}
