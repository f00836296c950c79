package webhooks

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDeliverySignedWithStandardWebhooks(t *testing.T) {
	s, _ := newTestService(t, nil)
	rc := newReceiver(t, nil)
	w := subscribe(t, s, "acme", rc.URL+"/hook", "case.updated")

	id, err := s.Publish(context.Background(), "acme", "case.updated", map[string]any{"case": map[string]any{"id": "case_acme_1001"}})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	if err := verify(t, w.Secret, got[0], true); err != nil {
		t.Errorf("Standard Webhooks verification: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(got[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "type", "timestamp", "tenant", "data"} {
		if _, ok := body[k]; !ok {
			t.Errorf("body lacks %q: %s", k, got[0].Body)
		}
	}
	if len(body) != 5 {
		t.Errorf("body has %d members, want 5: %s", len(body), got[0].Body)
	}
	if body["id"] != id || got[0].Header.Get(HeaderID) != id || body["tenant"] != "acme" || body["type"] != "case.updated" {
		t.Errorf("id/header/tenant/type = %v/%v/%v/%v, want %s/%s/acme/case.updated", body["id"], got[0].Header.Get(HeaderID), body["tenant"], body["type"], id, id)
	}
	d := onlyDelivery(t, s, w)
	if d.Status != StatusSucceeded || d.AttemptCount != 1 || d.Attempts[0].Trigger != TriggerInitial {
		t.Errorf("delivery = %s after %d attempts (%+v), want succeeded after 1 initial", d.Status, d.AttemptCount, d.Attempts)
	}
	// The attempt records the headers the receiver got, by lower-case name.
	sent := d.Attempts[0].RequestHeaders
	for _, name := range []string{HeaderID, HeaderTimestamp, HeaderSignature, "Content-Type", "User-Agent"} {
		if v := sent[strings.ToLower(name)]; v == "" || v != got[0].Header.Get(name) {
			t.Errorf("request_headers[%q] = %q, the receiver got %q", strings.ToLower(name), v, got[0].Header.Get(name))
		}
	}
}

// TestRetries drives failing endpoints through the schedule by advancing
// the clock: nothing waits in real time.
func TestRetries(t *testing.T) {
	closedAddr := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr + "/hook"
	}
	tests := []struct {
		name      string
		respond   func(int, *http.Request) (int, http.Header, string)
		url       func(rc *receiver) string
		wantClass ErrorClass
		// succeedOn is the attempt that succeeds (0: none within the test).
		succeedOn int
	}{
		{name: "5xx then success", respond: func(n int, _ *http.Request) (int, http.Header, string) {
			if n < 3 {
				return http.StatusInternalServerError, nil, "boom"
			}
			return http.StatusNoContent, nil, ""
		}, wantClass: ClassNon2xx, succeedOn: 3},
		{name: "connection refused", url: func(*receiver) string { return closedAddr() }, wantClass: ClassConnectionRefused},
		{name: "redirect not followed", respond: func(int, *http.Request) (int, http.Header, string) {
			return http.StatusFound, http.Header{"Location": {"/elsewhere"}}, ""
		}, wantClass: ClassRedirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newTestService(t, nil)
			rc := newReceiver(t, tt.respond)
			url := rc.URL + "/hook"
			if tt.url != nil {
				url = tt.url(rc)
			}
			w := subscribe(t, s, "acme", url, "case.created")
			if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, s)
			for i := 0; i < 2; i++ {
				d := onlyDelivery(t, s, w)
				if d.Status != StatusPending || d.NextAttemptAt.IsZero() {
					t.Fatalf("after attempt %d: status %s next %v, want pending with a next attempt", i+1, d.Status, d.NextAttemptAt)
				}
				clock.Advance(DefaultSchedule[i])
				waitIdle(t, s)
			}
			d := onlyDelivery(t, s, w)
			if d.AttemptCount != 3 {
				t.Fatalf("attempts = %d, want 3", d.AttemptCount)
			}
			first := d.Attempts[0]
			if first.Error == nil || first.Error.Class != tt.wantClass {
				t.Errorf("first attempt error = %+v, want class %s", first.Error, tt.wantClass)
			}
			if d.Attempts[1].Trigger != TriggerRetry {
				t.Errorf("second attempt trigger = %s, want retry", d.Attempts[1].Trigger)
			}
			if tt.succeedOn == 3 && d.Status != StatusSucceeded {
				t.Errorf("status = %s, want succeeded", d.Status)
			}
			got := rc.requests()
			for i, g := range got {
				if g.Header.Get(HeaderID) != d.Event.ID {
					t.Errorf("request %d webhook-id = %s, want %s (stable across retries)", i, g.Header.Get(HeaderID), d.Event.ID)
				}
				if err := verify(t, w.Secret, g, false); err != nil {
					t.Errorf("request %d: %v", i, err)
				}
				if i > 0 && g.Header.Get(HeaderTimestamp) == got[i-1].Header.Get(HeaderTimestamp) {
					t.Errorf("request %d reused the timestamp of the previous attempt", i)
				}
			}
			if tt.wantClass == ClassRedirect && len(got) != 3 {
				t.Errorf("receiver got %d requests, want 3 (redirects not followed)", len(got))
			}
		})
	}
}

// TestHungAttemptTimesOut: an endpoint that never answers fails the
// attempt with a timeout after the attempt timeout of real time, and the
// retry follows the schedule on the clock.
func TestHungAttemptTimesOut(t *testing.T) {
	s, clock := newTestService(t, func(c *Config) { c.AttemptTimeout = MinAttemptTimeout })
	rc := newReceiver(t, func(n int, r *http.Request) (int, http.Header, string) {
		if n == 1 {
			<-r.Context().Done() // hangs until the engine gives up
		}
		return http.StatusOK, nil, "ok"
	})
	w := subscribe(t, s, "acme", rc.URL, "case.created")
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	d := onlyDelivery(t, s, w)
	if d.AttemptCount != 1 || d.Attempts[0].Error == nil || d.Attempts[0].Error.Class != ClassTimeout {
		t.Fatalf("attempts = %+v, want one timeout", d.Attempts)
	}
	clock.Advance(DefaultSchedule[0])
	waitIdle(t, s)
	if d = onlyDelivery(t, s, w); d.Status != StatusSucceeded || d.AttemptCount != 2 {
		t.Errorf("after the retry: %s with %d attempts, want succeeded with 2", d.Status, d.AttemptCount)
	}
}

// TestClockAdvanceDoesNotTimeOutAnAttempt: the attempt timeout is a
// network timeout, real time. Moving the sandbox clock past it while a
// healthy answer is on its way neither fails the attempt nor sends the
// event again.
func TestClockAdvanceDoesNotTimeOutAnAttempt(t *testing.T) {
	s, clock := newTestService(t, nil)
	release := make(chan struct{})
	rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
		<-release // the answer takes a moment
		return http.StatusOK, nil, "ok"
	})
	w := subscribe(t, s, "acme", rc.URL, "case.created")
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	<-rc.arrived // the attempt is in flight
	clock.Advance(s.cfg.AttemptTimeout + 5*time.Second)
	close(release)
	waitIdle(t, s)
	clock.Advance(time.Hour) // no retry is due either
	waitIdle(t, s)
	d := onlyDelivery(t, s, w)
	if d.Status != StatusSucceeded || d.AttemptCount != 1 || d.Attempts[0].Error != nil {
		t.Errorf("delivery %s after %d attempts (%+v), want succeeded at the first", d.Status, d.AttemptCount, d.Attempts)
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		header   string
		wantWait time.Duration
	}{
		{name: "429 seconds", status: 429, header: "120", wantWait: 120 * time.Second},
		{name: "503 seconds", status: 503, header: "7", wantWait: 7 * time.Second},
		{name: "500 ignores it", status: 500, header: "120", wantWait: DefaultSchedule[0]},
		{name: "capped", status: 503, header: "999999", wantWait: MaxRetryAfter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newTestService(t, nil)
			clock.Freeze()
			rc := newReceiver(t, func(int, *http.Request) (int, http.Header, string) {
				return tt.status, http.Header{"Retry-After": {tt.header}}, ""
			})
			w := subscribe(t, s, "acme", rc.URL, "case.created")
			start := clock.Now()
			if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
				t.Fatal(err)
			}
			waitIdle(t, s)
			d := onlyDelivery(t, s, w)
			if got := d.NextAttemptAt.Sub(start); got != tt.wantWait {
				t.Errorf("next attempt after %s, want %s", got, tt.wantWait)
			}
		})
	}
}

func TestGoneDisablesAndNotifies(t *testing.T) {
	s, _ := newTestService(t, nil)
	gone := newReceiver(t, statusOf(http.StatusGone))
	watcher := newReceiver(t, nil)
	w := subscribe(t, s, "acme", gone.URL, "case.created")
	subscribe(t, s, "acme", watcher.URL, "webhook.endpoint.disabled")
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	got, _ := s.Webhook(context.Background(), "acme", w.ID)
	if !got.Disabled || !strings.Contains(got.DisabledReason, "410") {
		t.Errorf("webhook disabled=%v reason=%q, want disabled for 410", got.Disabled, got.DisabledReason)
	}
	if d := onlyDelivery(t, s, w); d.Status != StatusFailed || !d.NextAttemptAt.IsZero() {
		t.Errorf("delivery %s next %v, want failed without retry", d.Status, d.NextAttemptAt)
	}
	notices := watcher.requests()
	if len(notices) != 1 || notices[0].Event.Type != "webhook.endpoint.disabled" {
		t.Fatalf("watcher got %d requests, want one webhook.endpoint.disabled", len(notices))
	}
	var data map[string]any
	_ = json.Unmarshal(notices[0].Event.Data, &data)
	if data["webhook_id"] != w.ID {
		t.Errorf("notice data = %v, want webhook_id %s", data, w.ID)
	}
	// A disabled endpoint receives nothing more.
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	if n := len(gone.requests()); n != 1 {
		t.Errorf("disabled endpoint got %d requests, want 1", n)
	}
}

func TestContinuousFailureDisables(t *testing.T) {
	s, clock := newTestService(t, nil)
	down := newReceiver(t, statusOf(http.StatusServiceUnavailable))
	watcher := newReceiver(t, nil)
	w := subscribe(t, s, "acme", down.URL, "case.created")
	subscribe(t, s, "acme", watcher.URL, "webhook.endpoint.disabled")
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	for _, wait := range DefaultSchedule {
		clock.Advance(wait)
		waitIdle(t, s)
	}
	first := onlyDelivery(t, s, w)
	if first.Status != StatusFailed || first.AttemptCount != len(DefaultSchedule)+1 {
		t.Fatalf("first delivery %s after %d attempts, want failed after %d", first.Status, first.AttemptCount, len(DefaultSchedule)+1)
	}
	if got, _ := s.Webhook(context.Background(), "acme", w.ID); got.Disabled {
		t.Fatalf("disabled after %s of failures, want enabled until %s", clock.Now().Sub(first.CreatedAt), DefaultDisableAfter)
	}
	clock.Advance(DefaultDisableAfter)
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	got, _ := s.Webhook(context.Background(), "acme", w.ID)
	if !got.Disabled || got.DisabledReason != "failing continuously for 5 days" {
		t.Errorf("webhook disabled=%v reason=%q, want disabled after 5 days", got.Disabled, got.DisabledReason)
	}
	if n := len(watcher.requests()); n != 1 {
		t.Errorf("watcher got %d notices, want 1", n)
	}
}

// TestOneAdvanceWalksTheWholeSchedule: advancing the clock by five days at
// once runs every retry that falls due on the way, in order, each at its
// own time on the clock (not all from the end of the window), so the
// delivery ends failed and the endpoint, failing for five days, is
// disabled, all before the advance returns.
func TestOneAdvanceWalksTheWholeSchedule(t *testing.T) {
	s, clock := newTestService(t, nil)
	clock.Freeze()
	down := newReceiver(t, statusOf(http.StatusServiceUnavailable))
	watcher := newReceiver(t, nil)
	w := subscribe(t, s, "acme", down.URL, "case.created")
	subscribe(t, s, "acme", watcher.URL, "webhook.endpoint.disabled")
	start := clock.Now()
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	clock.Advance(DefaultDisableAfter)

	d := onlyDelivery(t, s, w)
	if d.Status != StatusFailed || d.AttemptCount != len(DefaultSchedule)+1 {
		t.Fatalf("after one advance: %s after %d attempts, want failed after %d", d.Status, d.AttemptCount, len(DefaultSchedule)+1)
	}
	at := start
	for i, a := range d.Attempts {
		if i > 0 {
			at = at.Add(DefaultSchedule[i-1])
		}
		if !a.StartedAt.Equal(at.UTC()) {
			t.Errorf("attempt %d started at +%s, want +%s", i+1, a.StartedAt.Sub(start), at.Sub(start))
		}
	}
	got, _ := s.Webhook(context.Background(), "acme", w.ID)
	if !got.Disabled || got.DisabledReason != "failing continuously for 5 days" || !got.DisabledAt.Equal(start.Add(DefaultDisableAfter).UTC()) {
		t.Errorf("webhook disabled=%v at +%s (%q), want disabled at +5 days for failing", got.Disabled, got.DisabledAt.Sub(start), got.DisabledReason)
	}
	waitIdle(t, s)
	if n := len(watcher.requests()); n != 1 {
		t.Errorf("watcher got %d notices, want 1", n)
	}
	if n := len(down.requests()); n != len(DefaultSchedule)+1 {
		t.Errorf("endpoint got %d requests, want %d", n, len(DefaultSchedule)+1)
	}
}

func TestRedeliveryKeepsEventID(t *testing.T) {
	s, _ := newTestService(t, nil)
	rc := newReceiver(t, nil)
	w := subscribe(t, s, "acme", rc.URL, "case.closed")
	id, _ := s.Trigger(context.Background(), "acme", "case.closed", nil)
	waitIdle(t, s)
	d := onlyDelivery(t, s, w)
	if _, err := s.Redeliver(context.Background(), "acme", w.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	got := rc.requests()
	if len(got) != 2 || got[0].Header.Get(HeaderID) != id || got[1].Header.Get(HeaderID) != id || string(got[0].Body) != string(got[1].Body) {
		t.Fatalf("requests = %d; want 2 with webhook-id %s and the same body", len(got), id)
	}
	d = onlyDelivery(t, s, w)
	if d.AttemptCount != 2 || d.Attempts[1].Trigger != TriggerRedelivery || d.Status != StatusSucceeded {
		t.Errorf("delivery %s with %d attempts (%+v), want 2nd attempt a redelivery", d.Status, d.AttemptCount, d.Attempts)
	}
}

func TestTenantIsolation(t *testing.T) {
	s, _ := newTestService(t, nil)
	acme, globex := newReceiver(t, nil), newReceiver(t, nil)
	wa := subscribe(t, s, "acme", acme.URL, "case.created")
	wg := subscribe(t, s, "globex", globex.URL, "case.created")
	if _, err := s.Trigger(context.Background(), "acme", "case.created", nil); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, s)
	if len(acme.requests()) != 1 || len(globex.requests()) != 0 {
		t.Errorf("acme got %d, globex got %d; want 1 and 0", len(acme.requests()), len(globex.requests()))
	}
	if _, err := s.Webhook(context.Background(), "globex", wa.ID); err == nil {
		t.Error("globex read acme's webhook")
	}
	if _, err := s.Deliveries(context.Background(), "acme", wg.ID, DeliveryFilter{}); err == nil {
		t.Error("acme read globex's deliveries")
	}
}

func TestSecretRotationSignsWithBoth(t *testing.T) {
	s, clock := newTestService(t, nil)
	rc := newReceiver(t, nil)
	w := subscribe(t, s, "acme", rc.URL, "case.created")
	rotated, err := s.RotateSecret(context.Background(), "acme", w.ID, "", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.Trigger(context.Background(), "acme", "case.created", nil)
	waitIdle(t, s)
	clock.Advance(time.Hour + time.Second)
	_, _ = s.Trigger(context.Background(), "acme", "case.created", nil)
	waitIdle(t, s)
	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("got %d requests, want 2", len(got))
	}
	tests := []struct {
		name    string
		req     received
		secret  string
		wantErr bool
	}{
		{name: "during rotation, new secret", req: got[0], secret: rotated.Secret},
		{name: "during rotation, old secret", req: got[0], secret: w.Secret},
		{name: "after expiry, new secret", req: got[1], secret: rotated.Secret},
		{name: "after expiry, old secret", req: got[1], secret: w.Secret, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := verify(t, tt.secret, tt.req, false); (err != nil) != tt.wantErr {
				t.Errorf("verify = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestDialTimeAddressCheck(t *testing.T) {
	s, _ := newTestService(t, func(c *Config) { c.AllowLocalTargets = false })
	rc := newReceiver(t, nil)
	// A URL accepted earlier whose name now resolves to a loopback address
	// (DNS rebinding) is stopped when the connection is made.
	w, err := s.store.CreateWebhook(context.Background(), Webhook{ID: "wh_rebound", Tenant: "acme", URL: rc.URL, Events: []string{"case.created"}, Secret: newSecret(make([]byte, 24))})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.Trigger(context.Background(), "acme", "case.created", nil)
	waitIdle(t, s)
	d := onlyDelivery(t, s, w)
	if d.Attempts[0].Error == nil || d.Attempts[0].Error.Class != ClassForbiddenAddress {
		t.Errorf("attempt = %+v, want forbidden_address", d.Attempts[0])
	}
	if n := len(rc.requests()); n != 0 {
		t.Errorf("receiver got %d requests, want none", n)
	}
}
