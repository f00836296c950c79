package webhooks

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestTimestampFollowsRealTime: with the default wall clock, a retry run by
// advancing the sandbox clock a day still carries a fresh webhook-timestamp,
// so a consumer's strict freshness check accepts it.
func TestTimestampFollowsRealTime(t *testing.T) {
	s, clock := newTestService(t, func(c *Config) { c.WallClock = nil })
	rc := newReceiver(t, func(n int, _ *http.Request) (int, http.Header, string) {
		if n == 1 {
			return http.StatusServiceUnavailable, nil, ""
		}
		return http.StatusOK, nil, ""
	})
	w := subscribe(t, s, "acme", rc.URL+"/hook", "case.created")
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	clock.Advance(24 * time.Hour)
	waitIdle(t, s)
	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(got))
	}
	for i, g := range got {
		ts, _ := strconv.ParseInt(g.Header.Get(HeaderTimestamp), 10, 64)
		if skew := time.Since(time.Unix(ts, 0)); skew < -time.Minute || skew > time.Minute {
			t.Errorf("request %d: webhook-timestamp is %s away from real time", i, skew)
		}
		if err := verify(t, w.Secret, g, true); err != nil {
			t.Errorf("request %d fails strict verification: %v", i, err)
		}
	}
	if d := onlyDelivery(t, s, w); d.Status != StatusSucceeded {
		t.Errorf("delivery status = %s, want succeeded", d.Status)
	}
}
