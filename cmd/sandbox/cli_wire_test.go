package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// journalServer serves the request journal and the live stream as the
// sandbox's contract describes them, recording the queries it was asked.
type journalServer struct {
	mu      sync.Mutex
	queries []string // "METHOD path?query"
	// frames is the stream's body; when hold is set the stream stays open
	// after it until the client leaves.
	frames string
	hold   bool
}

const journalPageJSON = `{"requests":[
 {"seq":1,"time":"2026-03-01T12:00:01.234Z","tenant":"acme","request_id":"req_1","method":"POST","path":"/v1/webhooks","operation":"createWebhook","api":"webhooks",
  "auth":{"method":"bearer","kind":"access_token","subject":"app_1","client_id":"cli_acme_1"},"scopes":["webhooks:write"],"status":201,"latency_ms":3.14,"error_code":"","body":{"url":"https://x"},"body_truncated":false},
 {"seq":2,"time":"2026-03-01T12:00:02.5Z","tenant":"acme","request_id":"req_2","method":"GET","path":"/v1/platform/apps","operation":"listApps","api":"platform",
  "auth":{"method":"bearer","kind":"admin","subject":"acme","client_id":""},"scopes":[],"status":403,"latency_ms":0.4,"error_code":"insufficient_scope","body":null,"body_truncated":false}
],"next_cursor":"c_2"}`

func (s *journalServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.queries = append(s.queries, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+cliToken {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("X-Request-Id", "req_denied")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"type":"about:blank","title":"Unauthorized","status":401,"code":"unauthorized","detail":"the control plane needs the operator token"}`)
		return
	}
	switch r.Method + " " + r.URL.Path {
	case "GET /_sandbox/requests":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, journalPageJSON)
	case "DELETE /_sandbox/requests":
		w.WriteHeader(http.StatusNoContent)
	case "GET /_sandbox/stream":
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, s.frames)
		w.(http.Flusher).Flush()
		if s.hold {
			<-r.Context().Done()
		}
	default:
		http.NotFound(w, r)
	}
}

func (s *journalServer) asked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.queries...)
}

func startJournal(t *testing.T, js *journalServer) map[string]string {
	t.Helper()
	srv := httptest.NewServer(js)
	t.Cleanup(srv.Close)
	return map[string]string{"ARGUS_SANDBOX_URL": srv.URL, "ARGUS_SANDBOX_OPERATOR_TOKEN": cliToken}
}

func TestCLIRequests(t *testing.T) {
	js := &journalServer{}
	env := startJournal(t, js)
	r := runCLI(t, env, "", "requests", "--operation", "createWebhook", "--status", "2xx", "--client", "cli_acme_1",
		"--since", "2026-03-01T12:00:00Z", "--limit", "2", "--tenant", "acme", "--request-id", "req_1")
	wantRun(t, r, exitOK, "", "more: sandbox requests --cursor c_2")
	want := []string{
		"TIME                     STATUS  METHOD  PATH               OPERATION      CLIENT      LATENCY  ERROR",
		"2026-03-01 12:00:01.234  201     POST    /v1/webhooks       createWebhook  cli_acme_1  3.1ms    -",
		"2026-03-01 12:00:02.500  403     GET     /v1/platform/apps  listApps       acme        0.4ms    insufficient_scope",
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(r.stdout), "\n")); diff != "" {
		t.Errorf("requests table (-want +got):\n%s", diff)
	}
	q := url.Values{"operation": {"createWebhook"}, "status": {"2xx"}, "client_id": {"cli_acme_1"}, "since": {"2026-03-01T12:00:00Z"},
		"limit": {"2"}, "tenant": {"acme"}, "request_id": {"req_1"}}
	if diff := cmp.Diff([]string{"GET /_sandbox/requests?" + q.Encode()}, js.asked()); diff != "" {
		t.Errorf("queries (-want +got):\n%s", diff)
	}

	// --json passes the page through as the sandbox sent it.
	r = runCLI(t, env, "", "requests", "--json")
	wantRun(t, r, exitOK, "", "")
	if strings.TrimSpace(r.stdout) != journalPageJSON || r.stderr != "" {
		t.Errorf("requests --json = %q, stderr %q", r.stdout, r.stderr)
	}

	wantRun(t, runCLI(t, env, "", "requests", "clear", "--tenant", "acme"), exitOK, "", "")
	if got := js.asked(); got[len(got)-1] != "DELETE /_sandbox/requests?tenant=acme" {
		t.Errorf("requests clear asked %q", got[len(got)-1])
	}

	// Refused: exit 1 with the problem's code, detail and request id.
	noToken := map[string]string{"ARGUS_SANDBOX_URL": env["ARGUS_SANDBOX_URL"]}
	wantRun(t, runCLI(t, noToken, "", "requests"), exitRuntime, "",
		"sandbox requests: the sandbox refused: GET /_sandbox/requests: 401 unauthorized: the control plane needs the operator token [request req_denied]")
	wantRun(t, runCLI(t, noToken, "", "tail"), exitRuntime, "", "GET /_sandbox/stream: 401 unauthorized")
}

// streamFrames holds one frame of each type, a keepalive, a frame spread
// over two data lines and CRLF line ends.
const streamFrames = ": keepalive\n\n" +
	"id: 1\nevent: request\ndata: {\"seq\":1,\"time\":\"2026-03-01T12:00:01.234Z\",\"tenant\":\"acme\",\"method\":\"POST\",\"path\":\"/v1/webhooks\",\"operation\":\"createWebhook\",\"auth\":{\"client_id\":\"cli_acme_1\"},\"status\":201,\"latency_ms\":3.1}\n\n" +
	"id: 2\r\nevent: event\r\ndata: {\"time\":\"2026-03-01T12:00:01.240Z\",\"id\":\"evt_1\",\"type\":\"case.updated\",\"tenant\":\"acme\"}\r\n\r\n" +
	"id: 3\nevent: delivery\ndata: {\"time\":\"2026-03-01T12:00:01.260Z\",\"event_id\":\"evt_1\",\n" +
	"data: \"webhook_id\":\"wh_1\",\"attempt\":1,\"status\":200,\"latency_ms\":12,\"outcome\":\"delivered\"}\n\n" +
	"id: 4\nevent: fault\ndata: {\"at\":\"2026-03-01T12:00:02Z\",\"rule\":\"token-outage\",\"action\":\"error\",\"detail\":\"answered 503\",\"request_id\":\"req_9\"}\n\n" +
	"event: lagged\ndata: {\"dropped\":7}\n\n"

func TestCLITail(t *testing.T) {
	js := &journalServer{frames: streamFrames}
	env := startJournal(t, js)
	r := runCLI(t, env, "", "tail", "--types", "request,event,delivery,fault", "--tenant", "acme")
	// The sandbox ended the stream: exit 1, after every frame.
	wantRun(t, r, exitRuntime, "", "sandbox tail: the sandbox ended the stream")
	want := []string{
		"12:00:01.234 request 201 POST /v1/webhooks createWebhook acme cli_acme_1 3.1ms",
		"12:00:01.240 event case.updated evt_1 acme",
		"12:00:01.260 delivery evt_1 → wh_1 attempt 1 200 12.0ms delivered",
		"12:00:02.000 fault token-outage error answered 503 req_9",
		`lagged: the sandbox dropped frames this reader was too slow for {"dropped":7}`,
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(r.stdout), "\n")); diff != "" {
		t.Errorf("tail (-want +got):\n%s", diff)
	}
	if got := js.asked(); got[0] != "GET /_sandbox/stream?tenant=acme&types=request%2Cevent%2Cdelivery%2Cfault" {
		t.Errorf("tail asked %q", got[0])
	}

	// --count stops after N frames with exit 0; --json is one object a line.
	js.hold = true
	r = runCLI(t, env, "", "tail", "--count", "3", "--json")
	wantRun(t, r, exitOK, "", "")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("tail --count 3 --json printed %d lines:\n%s", len(lines), r.stdout)
	}
	var f struct {
		ID    string         `json:"id"`
		Event string         `json:"event"`
		Data  map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(lines[2]), &f); err != nil || f.ID != "3" || f.Event != "delivery" || f.Data["webhook_id"] != "wh_1" {
		t.Errorf("third frame = %s (%v)", lines[2], err)
	}
}

// TestCLITailInterrupted: a signal (the context ending) stops tail with
// exit 0, as Ctrl-C or docker stop does.
func TestCLITailInterrupted(t *testing.T) {
	js := &journalServer{frames: "id: 1\nevent: event\ndata: {\"id\":\"evt_1\",\"type\":\"case.updated\",\"tenant\":\"acme\"}\n\n", hold: true}
	env := startJournal(t, js)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &cancelWriter{cancel: cancel}
	var errOut strings.Builder
	code, _ := runCommand(ctx, "tail", nil, cliIO{stdout: out, stderr: &errOut, getenv: func(k string) string { return env[k] }})
	if code != exitOK || errOut.Len() != 0 {
		t.Errorf("tail after the context ended: exit %d, stderr %q", code, errOut.String())
	}
	if got := out.b.String(); got != "event case.updated evt_1 acme\n" {
		t.Errorf("stdout = %q", got)
	}
}

// cancelWriter cancels its context on the first write.
type cancelWriter struct {
	b      strings.Builder
	cancel context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	defer w.cancel()
	return w.b.Write(p)
}

func TestReadSSE(t *testing.T) {
	tests := []struct {
		name, in string
		want     []sseFrame
	}{
		{"one frame", "id: 7\nevent: request\ndata: {}\n\n", []sseFrame{{"7", "request", "{}"}}},
		{"comments and frames without data are not dispatched", ": keepalive\n\nevent: x\n\n", nil},
		{"data lines join, the id carries over, the event does not", "id: 1\nevent: a\ndata: x\ndata: y\n\ndata: z\n\n",
			[]sseFrame{{"1", "a", "x\ny"}, {"1", "", "z"}}},
		{"CRLF and no space after the colon", "event:b\r\ndata:1\r\n\r\n", []sseFrame{{"", "b", "1"}}},
		{"an unfinished frame at the end is dropped", "data: 1\n\ndata: 2\n", []sseFrame{{"", "", "1"}}},
		{"unknown fields are ignored", "retry: 10\nfoo: bar\ndata: 1\n\n", []sseFrame{{"", "", "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []sseFrame
			if err := readSSE(strings.NewReader(tt.in), func(f sseFrame) error { got = append(got, f); return nil }); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("frames (-want +got):\n%s", diff)
			}
		})
	}
	// A line beyond the bound is an error, not an allocation without end.
	huge := "data: " + strings.Repeat("x", maxSSELine) + "\n\n"
	if err := readSSE(strings.NewReader(huge), func(sseFrame) error { return nil }); err == nil {
		t.Error("a line longer than maxSSELine was read")
	}
}
