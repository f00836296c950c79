package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// TestTriggerN publishes several copies of one event: each has its own id
// and its own signed delivery, with the same data, and the ids come back
// in publish order.
func TestTriggerN(t *testing.T) {
	s, _ := newTestService(t, nil)
	rc := newReceiver(t, nil)
	w := subscribe(t, s, "acme", rc.URL, "case.updated")
	const n = 25
	ids, err := s.TriggerN(context.Background(), "acme", "case.updated", map[string]any{"case": map[string]any{"status": "CLOSED"}}, n)
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	if len(ids) != n {
		t.Fatalf("TriggerN returned %d ids, want %d", len(ids), n)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Errorf("event id %s returned twice", id)
		}
		seen[id] = true
	}
	got := rc.requests()
	if len(got) != n {
		t.Fatalf("receiver got %d requests, want %d", len(got), n)
	}
	delivered := map[string]bool{}
	for _, r := range got {
		if err := verify(t, w.Secret, r, false); err != nil {
			t.Errorf("delivery of %s does not verify: %v", r.Event.ID, err)
		}
		if !bytes.Equal(r.Event.Data, got[0].Event.Data) || !bytes.Contains(r.Event.Data, []byte(`"status":"CLOSED"`)) {
			t.Errorf("event %s data = %s, want the merged example shared by every copy", r.Event.ID, r.Event.Data)
		}
		delivered[r.Event.ID] = true
	}
	for _, id := range ids {
		if !delivered[id] {
			t.Errorf("event %s was not delivered", id)
		}
	}
	ds := mustDeliveries(t, s, w)
	for i, d := range ds { // newest first
		if want := ids[n-1-i]; d.Event.ID != want {
			t.Errorf("delivery %d is of %s, want %s (publish order)", i, d.Event.ID, want)
		}
	}
}

func TestTriggerNErrors(t *testing.T) {
	s, _ := newTestService(t, nil)
	tests := []struct {
		name    string
		tenant  string
		topic   string
		n       int
		wantErr error
	}{
		{name: "zero", tenant: "acme", topic: "case.updated", n: 0},
		{name: "above the bound", tenant: "acme", topic: "case.updated", n: MaxTriggerCount + 1},
		{name: "unknown topic", tenant: "acme", topic: "case.deleted", n: 2, wantErr: ErrUnknownTopic},
		{name: "unknown tenant", tenant: "initech", topic: "case.updated", n: 2, wantErr: ErrUnknownTenant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ids, err := s.TriggerN(context.Background(), tt.tenant, tt.topic, nil, tt.n)
			if err == nil || len(ids) != 0 || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Errorf("TriggerN = %v, %v; want no ids and an error (%v)", ids, err, tt.wantErr)
			}
		})
	}
}

// TestTriggerNStopsWithTheContext: with the queue full, TriggerN waits
// like Publish; when its context ends it returns the ids of the events it
// did publish, and those are delivered.
func TestTriggerNStopsWithTheContext(t *testing.T) {
	s, rc, release := blockedEngine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ids, err := s.TriggerN(ctx, "acme", "case.created", nil, 5) // one fits the queue
	if !errors.Is(err, context.DeadlineExceeded) || len(ids) != 1 {
		t.Errorf("TriggerN into a full queue = %d ids, %v; want 1 and the context's error", len(ids), err)
	}
	close(release)
	waitIdle(t, s)
	if n := len(rc.requests()); n != 2 {
		t.Errorf("receiver got %d, want the 2 accepted events", n)
	}
}

// TestEncodeEvent: the assembled body is byte for byte what a JSON encoder
// that does not HTML-escape makes of the event, escaping cases included:
// the data's <, > and & are sent as themselves.
func TestEncodeEvent(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 600700800, time.UTC)
	data := func(v map[string]any) json.RawMessage {
		raw, err := marshalData("case.updated", v)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	tests := []struct {
		name string
		ev   Event
	}{
		{"typical", Event{ID: "evt_0123456789abcdefghjkmnpqrs", Type: "case.updated", Timestamp: at, Tenant: "acme",
			Data: data(map[string]any{"case": map[string]any{"id": "case_acme_1001", "title": "<b>Lost & found</b> \u2028 é"}, "n": 1.5})}},
		{"empty data", Event{ID: "evt_1", Type: "webhook.test", Timestamp: at, Tenant: "globex", Data: data(nil)}},
		{"no data", Event{ID: "evt_1", Type: "case.updated", Timestamp: at, Tenant: "acme"}},
		{"whole second", Event{ID: "evt_1", Type: "case.updated", Timestamp: at.Truncate(time.Second), Tenant: "acme", Data: data(nil)}},
		{"zone offset", Event{ID: "evt_1", Type: "case.updated", Timestamp: at.In(time.FixedZone("x", 3600)), Tenant: "acme", Data: data(nil)}},
		{"escaped tenant", Event{ID: "evt_1", Type: "case.updated", Timestamp: at, Tenant: "a\"c\té\\\x01", Data: data(nil)}},
		{"non-ASCII topic", Event{ID: "evt_1", Type: "cas\u00e9.updated\n", Timestamp: at, Tenant: "acme", Data: data(nil)}},
		{"year out of range", Event{ID: "evt_1", Type: "case.updated", Timestamp: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), Tenant: "acme", Data: data(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			wantErr := enc.Encode(tt.ev)
			want := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
			got, err := EncodeEvent(tt.ev)
			if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
				t.Errorf("EncodeEvent =\n%s, %v\nwant\n%s, %v", got, err, want, wantErr)
			}
		})
	}
}
