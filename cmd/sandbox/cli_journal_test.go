package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/emulator/journal"
)

// journalSandbox is a sandbox whose clock stands at journalEpoch, and
// which tells the test when a stream has subscribed and can end the
// streams it serves.
type journalSandbox struct {
	env map[string]string
	c   *client.Client
	// opened gets a value when a stream has subscribed: the journal
	// subscribes before it writes the stream's opening comment.
	opened chan struct{}

	mu  sync.Mutex
	end []context.CancelFunc
}

var journalEpoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func startJournalSandbox(t *testing.T) *journalSandbox {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	sb, err := emulator.New(emulator.Config{Issuer: base, OperatorToken: cliToken, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	js := &journalSandbox{opened: make(chan struct{}, 16)}
	h := sb.Handler()
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/_sandbox/stream" {
			h.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		js.mu.Lock()
		js.end = append(js.end, cancel)
		js.mu.Unlock()
		h.ServeHTTP(&openedWriter{ResponseWriter: w, opened: js.opened}, r.WithContext(ctx))
	})
	srv.Start()
	t.Cleanup(func() { srv.Close(); sb.Close() })
	js.env = map[string]string{"ARGUS_SANDBOX_URL": base, "ARGUS_SANDBOX_OPERATOR_TOKEN": cliToken}
	js.c = client.New(base, client.WithOperatorToken(cliToken))
	freeze := true
	if _, err := js.c.Sandbox().UpdateClock(context.Background(), client.ClockUpdate{Set: &journalEpoch, Freeze: &freeze}); err != nil {
		t.Fatal(err)
	}
	return js
}

// endStreams ends every stream served so far, as a sandbox shutting down
// does.
func (js *journalSandbox) endStreams() {
	js.mu.Lock()
	defer js.mu.Unlock()
	for _, cancel := range js.end {
		cancel()
	}
}

// openedWriter signals opened on the first write of a stream.
type openedWriter struct {
	http.ResponseWriter
	opened chan<- struct{}
	once   sync.Once
}

func (w *openedWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { w.opened <- struct{}{} })
	return w.ResponseWriter.Write(p)
}

// Flush flushes the stream (the router passes on what its writer can do).
func (w *openedWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

// Unwrap lets http.ResponseController reach the server's writer.
func (w *openedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// runTail runs `sandbox tail args…` until it ends, once the stream it
// opens has subscribed calling then. ctx is the command's (its end is an
// interrupt); an error of then interrupts it too.
func runTail(ctx context.Context, t *testing.T, js *journalSandbox, stdout writer, then func() error, args ...string) (int, string) {
	t.Helper()
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var errOut strings.Builder
	done := make(chan int, 1)
	go func() {
		code, _ := runCommand(ctx, "tail", args, cliIO{stdout: stdout, stderr: &errOut, getenv: func(k string) string { return js.env[k] }})
		done <- code
	}()
	select {
	case <-js.opened:
		if err := then(); err != nil {
			// The frames awaited will not come: interrupt tail.
			t.Error(err)
			stop()
		}
	case code := <-done:
		return code, errOut.String()
	}
	code := <-done
	return code, errOut.String()
}

type writer interface{ Write([]byte) (int, error) }

// TestCLIRequests lists the requests a real sandbox journaled: the
// columns, newest first, and the filters the flags set.
func TestCLIRequests(t *testing.T) {
	js := startJournalSandbox(t)
	ctx := context.Background()
	admin := js.c.With(client.WithToken("sandbox_admin_acme"))
	app, err := admin.Platform().CreateApp(ctx, client.AppCreate{Name: "Journal reader",
		GrantTypes: []string{"client_credentials"}, RequestedScopes: []string{"webhooks:read"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.c.OAuth().ClientCredentials(ctx, app.Credentials(), "webhooks:read"); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Webhooks().Get(ctx, "wh_missing"); err == nil {
		t.Fatal("GET of a webhook that does not exist succeeded")
	}
	if _, err := js.c.OAuth().ClientCredentials(ctx, client.Credentials{ClientID: app.ClientID, ClientSecret: "wrong"}); err == nil {
		t.Fatal("a wrong client secret got a token")
	}

	r := runCLI(t, js.env, "", "requests", "--tenant", "acme")
	wantRun(t, r, exitOK, "", "")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	head := `TIME +STATUS +METHOD +PATH +OPERATION +CLIENT +LATENCY +ERROR`
	// Newest first; every request at the frozen clock's time.
	want := []string{
		head,
		`2026-03-01 12:00:00\.000 +401 +POST +/v1/oauth/token +token +` + app.ClientID + ` +[0-9.]+ms +invalid_client`,
		`2026-03-01 12:00:00\.000 +400 +GET +/v1/webhooks/wh_missing +getWebhook +admin@acme +[0-9.]+ms +invalid_request`,
		`2026-03-01 12:00:00\.000 +200 +POST +/v1/oauth/token +token +` + app.ClientID + ` +[0-9.]+ms +-`,
		`2026-03-01 12:00:00\.000 +201 +POST +/v1/platform/apps +createApp +admin@acme +[0-9.]+ms +-`,
	}
	matchLines(t, "requests --tenant acme", want, lines)

	r = runCLI(t, js.env, "", "requests", "--status", "4xx", "--tenant", "acme")
	matchLines(t, "requests --status 4xx", []string{head, want[1], want[2]}, strings.Split(strings.TrimSpace(r.stdout), "\n"))
	r = runCLI(t, js.env, "", "requests", "--operation", "token", "--status", "200")
	matchLines(t, "requests --operation token --status 200", []string{head, want[3]}, strings.Split(strings.TrimSpace(r.stdout), "\n"))
	r = runCLI(t, js.env, "", "requests", "--client", app.ClientID, "--operation", "token", "--limit", "1")
	matchLines(t, "requests --client --limit 1", []string{head, want[1]}, strings.Split(strings.TrimSpace(r.stdout), "\n"))
	wantRun(t, r, exitOK, "", "more: sandbox requests --cursor ")
	wantRun(t, runCLI(t, js.env, "", "requests", "--operation", "deleteApp"), exitOK, "no requests", "")
	wantRun(t, runCLI(t, js.env, "", "requests", "--since", "2026-03-01T12:00:01Z", "--tenant", "acme"), exitOK, "no requests", "")

	// --json is the page as the client reads it; bodies are redacted.
	r = runCLI(t, js.env, "", "requests", "--operation", "token", "--json")
	wantRun(t, r, exitOK, "", "")
	var page client.RequestPage
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatalf("requests --json = %q: %v", r.stdout, err)
	}
	if len(page.Requests) != 2 || page.Requests[0].Status != 401 || page.Requests[1].Auth.ClientID != app.ClientID {
		t.Errorf("requests --operation token --json = %+v", page.Requests)
	}
	for _, e := range page.Requests {
		if strings.Contains(e.Body, app.ClientSecret) || strings.Contains(e.Body, "wrong") {
			t.Errorf("journaled body %q shows the client secret", e.Body)
		}
	}

	wantRun(t, runCLI(t, js.env, "", "requests", "clear", "--tenant", "acme"), exitOK, "", "")
	wantRun(t, runCLI(t, js.env, "", "requests", "--tenant", "acme"), exitOK, "no requests", "")

	// Usage errors are found before asking the sandbox: exit 2.
	wantRun(t, runCLI(t, js.env, "", "requests", "--status", "4x"), exitUsage, "", `--status "4x": want a status code`)
	wantRun(t, runCLI(t, js.env, "", "requests", "--since", "yesterday"), exitUsage, "", `--since "yesterday" is not an RFC 3339 time`)
	// Refused by the sandbox: exit 1 with its problem and request id.
	wantRun(t, runCLI(t, js.env, "", "requests", "--limit", "501"), exitRuntime, "",
		"sandbox requests: the sandbox refused: GET /_sandbox/requests: 400 invalid_request")
	noToken := map[string]string{"ARGUS_SANDBOX_URL": js.env["ARGUS_SANDBOX_URL"]}
	wrongToken := map[string]string{"ARGUS_SANDBOX_URL": js.env["ARGUS_SANDBOX_URL"], "ARGUS_SANDBOX_OPERATOR_TOKEN": cliToken + "x"}
	for _, env := range []map[string]string{noToken, wrongToken} {
		r := runCLI(t, env, "", "requests")
		wantRun(t, r, exitRuntime, "", "sandbox requests: the sandbox refused: GET /_sandbox/requests: 401 ")
		wantRun(t, r, exitRuntime, "", "[request req_")
		wantRun(t, runCLI(t, env, "", "requests", "clear"), exitRuntime, "", "DELETE /_sandbox/requests: 401 ")
		wantRun(t, runCLI(t, env, "", "tail"), exitRuntime, "", "GET /_sandbox/stream: 401 ")
	}
}

// matchLines checks each line against the regular expression of want.
func matchLines(t *testing.T, what string, want, got []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s printed %d lines, want %d:\n%s", what, len(got), len(want), strings.Join(got, "\n"))
		return
	}
	for i, re := range want {
		if !regexp.MustCompile("^" + re + "$").MatchString(got[i]) {
			t.Errorf("%s line %d = %q, want %s", what, i, got[i], re)
		}
	}
}

// TestCLITail follows a real sandbox's stream while a webhook is
// subscribed and an event delivered to it: a request line, an event line
// and a delivery line, then exit 0 after --count frames.
func TestCLITail(t *testing.T) {
	js := startJournalSandbox(t)
	receiver := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer receiver.Close()
	ctx := context.Background()
	admin := js.c.With(client.WithToken("sandbox_admin_acme"))
	hook, err := js.c.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: "acme", URL: receiver.URL,
		Events: []string{"case.updated"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	code, stderr := runTail(ctx, t, js, &out, func() error {
		if _, err := admin.Webhooks().Get(ctx, hook.ID); err != nil {
			return err
		}
		_, err := js.c.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: "acme", Topic: "case.updated"})
		return err
	}, "--types", "request,event,delivery", "--count", "4")
	if code != exitOK || stderr != "" {
		t.Fatalf("tail --count 4: exit %d, stderr %q, stdout:\n%s", code, stderr, out.String())
	}
	if strings.Contains(out.String(), cliToken) {
		t.Errorf("tail shows the token:\n%s", out.String())
	}
	// The event is published while its request runs, the request is
	// journaled once answered, and the delivery goes on its own: the
	// order of the last three is the sandbox's to choose.
	matchLines(t, "tail", []string{
		`12:00:00\.000 request 200 GET /v1/webhooks/` + hook.ID + ` getWebhook acme admin@acme [0-9.]+ms`,
		`12:00:00\.000 event case\.updated evt_\w+ acme`,
		`12:00:00\.000 request 202 POST /_sandbox/events triggerEvent \S+ [0-9.]+ms`,
		`delivery dlv_\w+ evt_\w+ → ` + hook.ID + ` acme attempt 1 200 [0-9.]+ms succeeded`,
	}, sortByKind(strings.Split(strings.TrimSpace(out.String()), "\n")))
}

// sortByKind orders tail lines: tenant requests, events, control-plane
// requests, deliveries.
func sortByKind(lines []string) []string {
	rank := func(s string) int {
		switch {
		case strings.Contains(s, " request ") && !strings.Contains(s, " /_sandbox/"):
			return 0
		case strings.Contains(s, " event "):
			return 1
		case strings.Contains(s, " request "):
			return 2
		}
		return 3
	}
	out := slices.Clone(lines)
	slices.SortStableFunc(out, func(a, b string) int { return rank(a) - rank(b) })
	return out
}

// TestCLITailJSON: --json prints each frame as {"id","event","data"}, the
// data as the sandbox streamed it.
func TestCLITailJSON(t *testing.T) {
	js := startJournalSandbox(t)
	ctx := context.Background()
	var out strings.Builder
	code, stderr := runTail(ctx, t, js, &out, func() error {
		_, err := js.c.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: "acme", Topic: "case.updated"})
		return err
	}, "--types", "event", "--tenant", "acme", "--count", "1", "--json")
	if code != exitOK || stderr != "" {
		t.Fatalf("tail --json: exit %d, stderr %q", code, stderr)
	}
	var f struct {
		ID    string            `json:"id"`
		Event string            `json:"event"`
		Data  client.EventFrame `json:"data"`
	}
	if err := json.Unmarshal([]byte(out.String()), &f); err != nil || f.ID == "" || f.Event != "event" ||
		f.Data.Type != "case.updated" || f.Data.Tenant != "acme" || !f.Data.Timestamp.Equal(journalEpoch) {
		t.Errorf("tail --json = %s (%v)", out.String(), err)
	}
}

// TestCLITailInterrupted: a signal (the context ending) stops tail with
// exit 0, as Ctrl-C or docker stop does.
func TestCLITailInterrupted(t *testing.T) {
	js := startJournalSandbox(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelWriter{cancel: cancel}
	code, stderr := runTail(ctx, t, js, out, func() error {
		_, err := js.c.Sandbox().TriggerEvent(context.Background(), client.EventTrigger{Tenant: "acme", Topic: "case.updated"})
		return err
	}, "--types", "event")
	if code != exitOK || stderr != "" {
		t.Errorf("tail after the context ended: exit %d, stderr %q", code, stderr)
	}
	if got := out.b.String(); !regexp.MustCompile(`^12:00:00\.000 event case\.updated evt_\w+ acme\n$`).MatchString(got) {
		t.Errorf("stdout = %q", got)
	}
}

// TestCLITailEnded: the sandbox ending the stream is exit 1.
func TestCLITailEnded(t *testing.T) {
	js := startJournalSandbox(t)
	var out strings.Builder
	code, stderr := runTail(context.Background(), t, js, &out, func() error { js.endStreams(); return nil })
	if code != exitRuntime || stderr != "sandbox tail: the sandbox ended the stream\n" || out.Len() != 0 {
		t.Errorf("tail of an ended stream: exit %d, stderr %q, stdout %q", code, stderr, out.String())
	}
}

// cancelWriter cancels its context on the first write.
type cancelWriter struct {
	mu     sync.Mutex
	b      strings.Builder
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.cancel()
	return w.b.Write(p)
}

// TestFrameLine reads every frame type in the JSON the sandbox's journal
// streams (its own types, marshalled), so a change of either side shows.
func TestFrameLine(t *testing.T) {
	next := journalEpoch.Add(30 * time.Second)
	mustJSON := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		typ  string
		data any
		want string
	}{
		{"request", journal.Entry{Seq: 1, Time: journalEpoch.Add(1234 * time.Millisecond), Tenant: "acme", Method: "POST", Path: "/v1/webhooks",
			Operation: "createWebhook", Auth: journal.Auth{Method: journal.AuthAccessToken, ClientID: "cli_acme_1"}, Status: 201, LatencyMS: 3.14},
			"12:00:01.234 request 201 POST /v1/webhooks createWebhook acme cli_acme_1 3.1ms"},
		{"request", journal.Entry{Time: journalEpoch, Method: "GET", Path: "/v1/nope", Auth: journal.Auth{Subject: "acme"}, Status: 404, ErrorCode: "not_found"},
			"12:00:00.000 request 404 GET /v1/nope acme 0.0ms not_found"},
		{"event", journal.Event{ID: "evt_1", Type: "case.updated", Tenant: "acme", Timestamp: journalEpoch.Add(1240 * time.Millisecond)},
			"12:00:01.240 event case.updated evt_1 acme"},
		{"delivery", journal.Delivery{DeliveryID: "dlv_1", EventID: "evt_1", WebhookID: "wh_1", Tenant: "acme", Attempt: 1, Status: 200,
			LatencyMS: 12, Classification: "succeeded"}, "delivery dlv_1 evt_1 → wh_1 acme attempt 1 200 12.0ms succeeded"},
		{"delivery", journal.Delivery{DeliveryID: "dlv_1", EventID: "evt_1", WebhookID: "wh_1", Tenant: "acme", Attempt: 2,
			LatencyMS: 0.5, Classification: "connection_refused", NextRetryAt: &next},
			"delivery dlv_1 evt_1 → wh_1 acme attempt 2 0.5ms connection_refused next 12:00:30.000"},
		{"fault", journal.Fault{Rule: "token-outage", Tenant: "acme", Operation: "token", Action: "error"}, "fault token-outage error acme operation=token"},
		{"fault", journal.Fault{Rule: "dup", Tenant: "acme", WebhookID: "wh_1", Action: "duplicate"}, "fault dup duplicate acme webhook=wh_1"},
		{"lagged", map[string]int{"dropped": 7}, "lagged: the sandbox dropped 7 frames this reader was too slow for"},
		{"audit", map[string]any{"a": []int{1, 2}}, `audit {"a":[1,2]}`},
		{"", "x", `message "x"`},
	}
	for _, tt := range tests {
		if got := frameLine(client.StreamEvent{ID: "1", Type: tt.typ, Data: mustJSON(tt.data)}); got != tt.want {
			t.Errorf("frameLine(%s %s) = %q, want %q", tt.typ, mustJSON(tt.data), got, tt.want)
		}
	}
	// Data that is not the type's shape, or not JSON, shows as sent.
	if got := frameLine(client.StreamEvent{Type: "event", Data: []byte("not\njson")}); got != "event not json" {
		t.Errorf("frameLine of non-JSON data = %q", got)
	}
	if diff := cmp.Diff("request [1]", frameLine(client.StreamEvent{Type: "request", Data: []byte("[1]")})); diff != "" {
		t.Errorf("frameLine of a request that is not an object (-want +got):\n%s", diff)
	}
}
