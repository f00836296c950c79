package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestSignatureForms: each form of the signature fault is refused by the
// Standard Webhooks library for the reason it stands for, except
// later_valid, which it accepts; the library never sees a valid
// signature of what it received otherwise.
func TestSignatureForms(t *testing.T) {
	tests := []struct {
		form   SignatureForm
		rotate bool
		want   error // nil: accepted
		check  func(t *testing.T, d Delivery, got received)
	}{
		{form: SignatureMissing, want: standardwebhooks.ErrRequiredHeaders},
		{form: SignatureMalformed, want: standardwebhooks.ErrNoMatchingSignature, check: func(t *testing.T, _ Delivery, got received) {
			if h := got.Header.Get(HeaderSignature); strings.Contains(h, ",") || h == "" {
				t.Errorf("malformed header %q, want a bare MAC", h)
			}
		}},
		{form: SignatureUnknownVersion, want: standardwebhooks.ErrNoMatchingSignature, check: func(t *testing.T, _ Delivery, got received) {
			if h := got.Header.Get(HeaderSignature); !strings.HasPrefix(h, "v2,") || strings.Contains(h, " ") {
				t.Errorf("header %q, want only a v2 signature", h)
			}
		}},
		{form: SignatureIDSwapped, want: standardwebhooks.ErrNoMatchingSignature, check: func(t *testing.T, d Delivery, got received) {
			if id := got.Header.Get(HeaderID); id == d.Event.ID || !strings.HasPrefix(id, "evt_") {
				t.Errorf("webhook-id %q, want another event id than %s", id, d.Event.ID)
			}
		}},
		{form: SignatureBodyAltered, want: standardwebhooks.ErrNoMatchingSignature, check: func(t *testing.T, d Delivery, got received) {
			if bytes.Equal(got.Body, d.Body) || !bytes.HasSuffix(got.Body, []byte(alteredMember)) {
				t.Errorf("body %s, want the signed body with a member added", got.Body)
			}
		}},
		{form: SignatureRetiredSecret, want: standardwebhooks.ErrNoMatchingSignature},
		{form: SignatureRetiredSecret, rotate: true, want: standardwebhooks.ErrNoMatchingSignature},
		{form: SignatureLaterValid, check: func(t *testing.T, _ Delivery, got received) {
			if parts := strings.Fields(got.Header.Get(HeaderSignature)); len(parts) != 3 || !strings.HasPrefix(parts[1], "v1a,") {
				t.Errorf("header %q, want a wrong v1, a v1a and the valid v1", got.Header.Get(HeaderSignature))
			}
		}},
	}
	for _, tt := range tests {
		name := string(tt.form)
		if tt.rotate {
			name += " after a rotation"
		}
		t.Run(name, func(t *testing.T) {
			var asked atomic.Int64
			s, _ := newTestService(t, func(c *Config) { c.Faults = planFirst(AttemptPlan{Rule: "form", Signature: tt.form}, &asked) })
			rc := newReceiver(t, nil)
			w := subscribe(t, s, "acme", rc.URL, "case.created")
			old := w.Secret
			if tt.rotate {
				rotated, _, err := s.rotate(context.Background(), "acme", w.ID, "", time.Hour)
				if err != nil {
					t.Fatal(err)
				}
				w = rotated
			}
			if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, s)
			got := rc.requests()
			if len(got) != 1 {
				t.Fatalf("receiver got %d requests, want 1", len(got))
			}
			err := verify(t, w.Secret, got[0], true)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("verify with the current secret = %v, want %v", err, tt.want)
			}
			if tt.form == SignatureRetiredSecret && tt.rotate {
				if err := verify(t, old, got[0], true); err != nil {
					t.Errorf("verify with the retired secret = %v, want it to sign", err)
				}
			}
			if tt.check != nil {
				tt.check(t, onlyDelivery(t, s, w), got[0])
			}
		})
	}
}

// TestEachAttemptSignedAtItsOwnTime: a retry made within the same real
// second as the attempt before it carries a later webhook-timestamp, and a
// timestamp offset shifts the signing time either way.
func TestEachAttemptSignedAtItsOwnTime(t *testing.T) {
	wall := time.Unix(1_900_000_000, 0)
	tests := []struct {
		name   string
		offset time.Duration
		wantTS []int64
	}{
		{name: "retry in the same second", wantTS: []int64{wall.Unix(), wall.Unix() + 1}},
		{name: "first attempt 90 s old", offset: -90 * time.Second, wantTS: []int64{wall.Unix() - 90, wall.Unix()}},
		{name: "first attempt 10 min ahead", offset: 10 * time.Minute, wantTS: []int64{wall.Unix() + 600, wall.Unix()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var asked atomic.Int64
			s, clock := newTestService(t, func(c *Config) {
				c.WallClock = func() time.Time { return wall }
				c.Faults = planFirst(AttemptPlan{Rule: "skew", TimestampOffset: tt.offset, ResponseLost: true}, &asked)
			})
			rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) { return http.StatusOK, nil, "" })
			w := subscribe(t, s, "acme", rc.URL, "case.created")
			if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, s)
			clock.Advance(DefaultSchedule[0])
			waitIdle(t, s)
			got := rc.requests()
			if len(got) != len(tt.wantTS) {
				t.Fatalf("receiver got %d requests, want %d", len(got), len(tt.wantTS))
			}
			for i, g := range got {
				ts, _ := strconv.ParseInt(g.Header.Get(HeaderTimestamp), 10, 64)
				if ts != tt.wantTS[i] {
					t.Errorf("attempt %d: webhook-timestamp %d, want %d", i+1, ts, tt.wantTS[i])
				}
				if err := verify(t, w.Secret, g, false); err != nil {
					t.Errorf("attempt %d: signature: %v", i+1, err)
				}
				if g.Header.Get(HeaderID) != got[0].Header.Get(HeaderID) {
					t.Errorf("attempt %d: webhook-id changed", i+1)
				}
			}
		})
	}
}

// TestSyntheticEvent: a rewrite sends the event under another topic with
// data merged over its own, signed as sent, and records the delivery under
// the event that was published.
func TestSyntheticEvent(t *testing.T) {
	var asked atomic.Int64
	rw := &Rewrite{Topic: "case.escalated", Data: map[string]any{"case": map[string]any{"status": "ESCALATED"}}}
	s, _ := newTestService(t, func(c *Config) { c.Faults = planFirst(AttemptPlan{Rule: "new", Rewrite: rw}, &asked) })
	rc := newReceiver(t, nil)
	w := subscribe(t, s, "acme", rc.URL, "case.updated")
	if _, err := s.Trigger(context.Background(), "acme", "case.updated", map[string]any{"case": map[string]any{"version": 7}}); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	if err := verify(t, w.Secret, got[0], true); err != nil {
		t.Errorf("verify: %v", err)
	}
	var ev struct {
		Type string `json:"type"`
		Data struct {
			Case struct {
				Status  string `json:"status"`
				Version int    `json:"version"`
			} `json:"case"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "case.escalated" || ev.Data.Case.Status != "ESCALATED" || ev.Data.Case.Version != 7 {
		t.Errorf("sent %s", got[0].Body)
	}
	if d := onlyDelivery(t, s, w); d.Event.Type != "case.updated" {
		t.Errorf("delivery recorded as %s, want the published case.updated", d.Event.Type)
	}
}
