package faults

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestDurationBoundsNameTheField(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantField string
		wantIn    string
	}{
		{"latency beyond the write timeout", `{"name":"lat","match":{"operation":"listAccessRequests"},"action":{"latency":{"fixed":"999999h"}}}`, "/action/latency/fixed", "at most 30s"},
		{"jitter beyond the bound", `{"name":"lat","action":{"latency":{"jitter":"31s"}}}`, "/action/latency/jitter", "at most 30s"},
		{"fixed plus jitter beyond the bound", `{"name":"lat","action":{"latency":{"fixed":"20s","jitter":"11s"}}}`, "/action/latency/jitter", "fixed plus jitter"},
		{"drip interval beyond the bound", `{"name":"drip","action":{"slow_drip":{"interval":"1000h"}}}`, "/action/slow_drip/interval", "at most 30s"},
		{"delivery delay beyond 30 days", `{"name":"d","action":{"delay":{"for":"721h"}}}`, "/action/delay/for", "at most 720h0m0s"},
		{"stale JWKS beyond 30 days", `{"name":"s","action":{"stale_jwks":{"for":"8760h"}}}`, "/action/stale_jwks/for", "at most"},
		{"stale JWKS after rotation beyond 30 days", `{"name":"s","action":{"rotate_keys":{"stale_jwks":"8760h"}}}`, "/action/rotate_keys/stale_jwks", "at most"},
		{"stale timestamp beyond 30 days", `{"name":"s","action":{"stale_timestamp":{"by":"8760h"}}}`, "/action/stale_timestamp/by", "at most"},
		{"timestamp offset beyond 30 days ahead", `{"name":"s","action":{"timestamp_offset":{"by":"721h"}}}`, "/action/timestamp_offset/by", "between"},
		{"timestamp offset beyond 30 days back", `{"name":"s","action":{"timestamp_offset":{"by":"-721h"}}}`, "/action/timestamp_offset/by", "between"},
		{"unknown signature form", `{"name":"s","action":{"signature":{"form":"v3"}}}`, "/action/signature/form", ""},
		{"retry_after beyond 30 days", `{"name":"s","action":{"error":{"status":503,"retry_after":"8760h"}}}`, "/action/error/retry_after", "at most"},
		{"token lifetime beyond 30 days", `{"name":"tex","action":{"token_expiry":{"expires_in":"-8760h"}}}`, "/action/token_expiry/expires_in", "between"},
		{"duration out of Go's range", `{"name":"tex","match":{"operation":"token"},"action":{"token_expiry":{"expires_in":"-999999999h"}}}`, "/action/token_expiry/expires_in", "out of range"},
		{"unsigned duration out of Go's range", `{"name":"lat","action":{"latency":{"fixed":"9999999999h"}}}`, "/action/latency/fixed", "out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRule([]byte(tt.body))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			for _, is := range verr.Issues {
				if is.Field == tt.wantField && strings.Contains(is.Reason, tt.wantIn) && !strings.Contains(is.Reason, "time: ") {
					return
				}
			}
			t.Errorf("issues %+v do not name %s (%q)", verr.Issues, tt.wantField, tt.wantIn)
		})
	}
}

func TestDurationBoundsInAFile(t *testing.T) {
	_, err := ParseFile("f.yaml", []byte("rules:\n  - {name: a, action: {malformed: {}}}\n  - {name: b, action: {token_expiry: {expires_in: -999999999h}}}\n"))
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Issues) != 1 || verr.Issues[0].Field != "/rules/1/action/token_expiry/expires_in" {
		t.Fatalf("err = %v, want one issue at /rules/1/action/token_expiry/expires_in", err)
	}
}

func TestDurationsAtTheBoundsAreAccepted(t *testing.T) {
	for _, body := range []string{
		`{"name":"lat","action":{"latency":{"fixed":"20s","jitter":"10s"}}}`,
		`{"name":"drip","action":{"slow_drip":{"interval":"30s"}}}`,
		`{"name":"d","action":{"delay":{"for":"720h"}}}`,
		`{"name":"tex","action":{"token_expiry":{"expires_in":"-720h"}}}`,
	} {
		if _, err := DecodeRule([]byte(body)); err != nil {
			t.Errorf("%s: %v", body, err)
		}
	}
}

func TestSeveralLatencyRulesWaitAtMostTheBound(t *testing.T) {
	slow := Action{Latency: &Latency{Fixed: Duration(20 * time.Second)}}
	h := newHarness(t, []Rule{rule("slow-1", Match{}, When{}, slow), rule("slow-2", Match{}, When{}, slow)})
	done := make(chan error, 1)
	go func() {
		resp, err := h.get("acme")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	h.waitPending(1)
	h.clock.Advance(MaxRequestWait)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("40s of latency rules held the request past MaxRequestWait")
	}
}

func TestSlowDripEndsWithinTheBound(t *testing.T) {
	// One byte every 10s would take minutes; the reply must be complete
	// after MaxRequestWait of clock time.
	h := newHarness(t, []Rule{rule("drip", Match{}, When{}, Action{SlowDrip: &SlowDrip{ChunkBytes: 1, Interval: Duration(10 * time.Second)}})})
	resp, err := h.get("acme")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(resp.Body)
		body <- b
	}()
	deadline := time.After(5 * time.Second)
	var waited time.Duration
	for {
		select {
		case got := <-body:
			if string(got) != thingBody {
				t.Errorf("body = %q, want %q", got, thingBody)
			}
			return
		case <-deadline:
			t.Fatalf("the body is incomplete after %s of clock time", waited)
		case <-time.After(time.Millisecond):
		}
		if h.clock.State().Pending > 0 {
			if waited += 10 * time.Second; waited > MaxRequestWait {
				t.Fatalf("the drip still waits after %s of clock time", waited)
			}
			h.clock.Advance(10 * time.Second)
		}
	}
}
