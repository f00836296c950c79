package faults

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/core"
)

func TestErrorReplies(t *testing.T) {
	tests := []struct {
		name       string
		reply      ErrorReply
		wantStatus int
		wantType   string
		wantHeader map[string]string
		wantBody   string
	}{
		{
			name:       "503 with Retry-After",
			reply:      ErrorReply{Status: 503, RetryAfter: Duration(20 * time.Second)},
			wantStatus: 503, wantType: "application/problem+json",
			wantHeader: map[string]string{"Retry-After": "20"},
			wantBody:   `"code":"service_unavailable"`,
		},
		{
			name:       "503 default Retry-After",
			reply:      ErrorReply{Status: 503},
			wantStatus: 503, wantType: "application/problem+json",
			wantHeader: map[string]string{"Retry-After": "30"},
			wantBody:   `"code":"service_unavailable"`,
		},
		{
			name:       "429 with rate-limit headers",
			reply:      ErrorReply{Status: 429, RetryAfter: Duration(10 * time.Second), Limit: 50},
			wantStatus: 429, wantType: "application/problem+json",
			wantHeader: map[string]string{
				"Retry-After": "10", "RateLimit-Limit": "50", "RateLimit-Remaining": "0", "RateLimit-Reset": "10",
				"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0",
			},
			wantBody: `"code":"rate_limited"`,
		},
		{
			name:       "500",
			reply:      ErrorReply{Status: 500},
			wantStatus: 500, wantType: "application/problem+json",
			wantBody: `"code":"internal_error"`,
		},
		{
			name:       "502 as a gateway page",
			reply:      ErrorReply{Status: 502},
			wantStatus: 502, wantType: "text/html",
			wantHeader: map[string]string{"Server": "nginx"},
			wantBody:   "<title>502 Bad Gateway</title>",
		},
		{
			name:       "504 as a gateway page",
			reply:      ErrorReply{Status: 504},
			wantStatus: 504, wantType: "text/html",
			wantHeader: map[string]string{"Server": "nginx"},
			wantBody:   "<h1>504 Gateway Time-out</h1>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []Rule{rule("boom", Match{Operation: "getThing"}, When{}, Action{Error: &tt.reply})})
			resp, err := h.get("acme")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			for k, v := range tt.wantHeader {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(string(body), tt.wantBody) {
				t.Errorf("body %s does not contain %s", body, tt.wantBody)
			}
			if got := resp.Header.Get(FaultHeader); got != "boom" {
				t.Errorf("%s = %q, want boom", FaultHeader, got)
			}
			if n := h.served.Load(); n != 0 {
				t.Errorf("handler ran %d times; an injected error must replace it", n)
			}
		})
	}
}

func TestRateLimitResetIsOnTheSandboxClock(t *testing.T) {
	h := newHarness(t, []Rule{rule("limit", Match{}, When{}, Action{Error: &ErrorReply{Status: 429, RetryAfter: Duration(time.Minute)}})})
	h.clock.Set(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	resp, err := h.get("acme")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	want := strconv.FormatInt(time.Date(2030, 1, 2, 3, 5, 5, 0, time.UTC).Unix(), 10)
	if got := resp.Header.Get("X-RateLimit-Reset"); got != want {
		t.Errorf("X-RateLimit-Reset = %s, want %s", got, want)
	}
}

func TestErrorUsesTheSurfaceErrorWriter(t *testing.T) {
	var got *core.RequestError
	writer := func(w http.ResponseWriter, r *http.Request, e *core.RequestError) {
		got = e
		core.WriteJSON(w, e.Status, map[string]string{"error": "temporarily_unavailable"})
	}
	h := newHarness(t, []Rule{rule("down", Match{Path: "/v1/oauth/token"}, When{}, Action{Error: &ErrorReply{Status: 503}})},
		func(c *harnessConfig) { c.errors = writer })
	resp, err := h.client().Post(h.srv.URL+"/v1/oauth/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || string(body) != `{"error":"temporarily_unavailable"}` {
		t.Errorf("got %d %s, want 503 from the surface's writer", resp.StatusCode, body)
	}
	if got == nil || got.Code != "service_unavailable" || got.Header.Get("Retry-After") != "30" {
		t.Errorf("writer got %+v, want service_unavailable with Retry-After 30", got)
	}
}

func TestDisconnects(t *testing.T) {
	tests := []struct {
		name       string
		action     Action
		wantErr    error
		wantServed int32
	}{
		{"reset before serving", Action{Reset: &Disconnect{}}, syscall.ECONNRESET, 0},
		{"reset after serving", Action{Reset: &Disconnect{Processed: true}}, syscall.ECONNRESET, 1},
		{"empty reply before serving", Action{EmptyReply: &Disconnect{}}, io.EOF, 0},
		{"empty reply after serving", Action{EmptyReply: &Disconnect{Processed: true}}, io.EOF, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []Rule{rule("drop", Match{}, When{}, tt.action)})
			resp, err := h.get("acme")
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got %s, want the connection dropped", resp.Status)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
			if n := h.served.Load(); n != tt.wantServed {
				t.Errorf("handler ran %d times, want %d", n, tt.wantServed)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name    string
		bytes   *int
		wantLen int
	}{
		{"half by default", nil, len(thingBody) / 2},
		{"after 5 bytes", intp(5), 5},
		{"nothing of the body", intp(0), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, []Rule{rule("cut", Match{}, When{}, Action{Truncate: &Truncate{Bytes: tt.bytes}})})
			resp, err := h.get("acme")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.ContentLength != int64(len(thingBody)) {
				t.Errorf("got %d with Content-Length %d, want 200 declaring %d", resp.StatusCode, resp.ContentLength, len(thingBody))
			}
			body, err := io.ReadAll(resp.Body)
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("reading the body: %v, want unexpected EOF", err)
			}
			if string(body) != thingBody[:tt.wantLen] {
				t.Errorf("body = %q, want %q", body, thingBody[:tt.wantLen])
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	h := newHarness(t, []Rule{rule("garble", Match{}, When{}, Action{Malformed: &NoOptions{}})})
	resp, err := h.get("acme")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("a malformed body is well-framed, yet reading failed: %v", err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("got %d %s, want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if string(body) != thingBody[:len(thingBody)/2] {
		t.Errorf("body = %q, want the first half of the reply", body)
	}
	var v any
	if json.Unmarshal(body, &v) == nil {
		t.Error("the malformed body parses as JSON")
	}
}

func TestSlowDripFollowsTheClock(t *testing.T) {
	h := newHarness(t, []Rule{rule("drip", Match{}, When{}, Action{SlowDrip: &SlowDrip{ChunkBytes: 20, Interval: Duration(time.Second)}})})
	resp, err := h.get("acme")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []byte
	buf := make([]byte, 64)
	for chunk := 0; len(got) < len(thingBody); chunk++ {
		if chunk > 0 {
			// The next chunk waits for the clock: release it.
			h.waitPending(1)
			h.clock.Advance(time.Second)
		}
		n, err := resp.Body.Read(buf)
		got = append(got, buf[:n]...)
		if want := min(20*(chunk+1), len(thingBody)); len(got) != want {
			t.Fatalf("after chunk %d read %d bytes, want %d", chunk, len(got), want)
		}
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
	}
	if string(got) != thingBody {
		t.Errorf("body = %q, want %q", got, thingBody)
	}
}

func TestLatencyWaitsOnTheClock(t *testing.T) {
	h := newHarness(t, []Rule{rule("slow", Match{Operation: "getThing"}, When{}, Action{Latency: &Latency{Fixed: Duration(2 * time.Second)}})})
	done := h.getLater("acme")
	h.waitPending(1)
	h.clock.Advance(1999 * time.Millisecond)
	select {
	case <-done:
		t.Fatal("the reply came before the latency elapsed")
	default:
	}
	if n := h.served.Load(); n != 0 {
		t.Fatalf("handler ran during the latency")
	}
	h.clock.Advance(time.Millisecond)
	resp := <-done
	if resp == nil {
		return
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get(FaultHeader) != "slow" {
		t.Errorf("got %d with %s=%q, want 200 marked slow", resp.StatusCode, FaultHeader, resp.Header.Get(FaultHeader))
	}
}

// TestLatencyAddsUpBeforeTheReply: latency and key rules listed after the
// rule that shapes the reply still apply, before that reply; a second
// reply rule is shadowed and does not count the request.
func TestLatencyAddsUpBeforeTheReply(t *testing.T) {
	h := newHarness(t, []Rule{
		rule("slow", Match{Operation: "getThing"}, When{}, Action{Latency: &Latency{Fixed: Duration(time.Second)}}),
		rule("outage", Match{Operation: "getThing"}, When{}, Action{Error: &ErrorReply{Status: 503}}),
		rule("slower", Match{Operation: "getThing"}, When{}, Action{Latency: &Latency{Fixed: Duration(2 * time.Second)}}),
		rule("rotate", Match{Operation: "getThing"}, When{}, Action{RotateKeys: &RotateKeys{}}),
		rule("shadowed", Match{Operation: "getThing"}, When{First: 1}, Action{Error: &ErrorReply{Status: 500}}),
	})
	done := h.getLater("acme")
	h.waitPending(1)
	h.clock.Advance(2999 * time.Millisecond)
	// One wait of the summed latencies, still pending.
	if n := h.clock.State().Pending; n != 1 {
		t.Fatalf("%d waits pending after 2.999 s, want the one of 3 s", n)
	}
	select {
	case <-done:
		t.Fatal("the reply came before the latencies of both rules elapsed")
	default:
	}
	h.clock.Advance(time.Millisecond)
	resp := <-done
	if resp == nil {
		return
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get(FaultHeader) != "slow, outage, slower, rotate" {
		t.Errorf("got %d with %s=%q, want 503 from slow, outage, slower, rotate", resp.StatusCode, FaultHeader, resp.Header.Get(FaultHeader))
	}
	h.keys.mu.Lock()
	rotated := h.keys.rotated
	h.keys.mu.Unlock()
	if rotated != 1 {
		t.Errorf("rotated %d times, want once", rotated)
	}
	for _, st := range h.engine.Rules() {
		if st.Name == "shadowed" && st.Matched != 0 {
			t.Errorf("the shadowed reply rule counted %d matches, want 0", st.Matched)
		}
	}
}

func TestJitterIsDeterministicUnderASeed(t *testing.T) {
	delays := func(seed uint64) []string {
		rules := []Rule{rule("jitter", Match{}, When{}, Action{Latency: &Latency{Jitter: Duration(20 * time.Millisecond)}})}
		h := newHarness(t, rules, func(c *harnessConfig) { c.Seed = seed; c.Clock = core.NewVirtualClock(nil) })
		for range 5 {
			resp, err := h.get("acme")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		var out []string
		for _, ev := range firings(t, h.engine, EventFilter{}) {
			out = append(out, ev.Detail)
		}
		return out
	}
	first, again, other := delays(7), delays(7), delays(8)
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("same seed, different jitter (-first +again):\n%s", diff)
	}
	if cmp.Equal(first, other) {
		t.Errorf("seeds 7 and 8 drew the same jitter %v", first)
	}
}

func TestKeyFaultsRunThenServe(t *testing.T) {
	h := newHarness(t, []Rule{
		rule("rotate", Match{Operation: "getThing"}, When{First: 1}, Action{RotateKeys: &RotateKeys{StaleJWKS: Duration(30 * time.Second)}}),
		rule("stale", Match{Operation: "createThing"}, When{}, Action{StaleJWKS: &StaleJWKS{For: Duration(time.Minute)}}),
	})
	for range 2 {
		resp, err := h.get("acme")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("status %d, want the request served after the rotation", resp.StatusCode)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/v1/things", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer acme")
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h.keys.rotated != 1 {
		t.Errorf("rotated %d times, want once (first: 1)", h.keys.rotated)
	}
	if diff := cmp.Diff([]time.Duration{30 * time.Second, time.Minute}, h.keys.stale); diff != "" {
		t.Errorf("stale JWKS windows (-want +got):\n%s", diff)
	}
	if n := h.served.Load(); n != 3 {
		t.Errorf("handler ran %d times, want 3", n)
	}
}

func TestControlPlaneIsNeverWrapped(t *testing.T) {
	e, err := New(Config{Clock: core.NewVirtualClock(nil), IDs: core.NewIDs(nil),
		Rules: []Rule{rule("all", Match{}, When{}, Action{Error: &ErrorReply{Status: 500}})}})
	if err != nil {
		t.Fatal(err)
	}
	next := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, op := range []core.OperationInfo{{API: ControlAPI, OperationID: "getHealth", Path: "/healthz"}, {API: "x", Path: "/_sandbox/faults"}} {
		rec := httptest.NewRecorder()
		e.Wrap(op, next).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, op.Path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: the control plane was faulted with %d", op.Path, rec.Code)
		}
	}
}
