package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
)

// cliToken is the operator token of the test sandboxes; no output may show
// it.
const cliToken = "op-cli-secret-5e1f"

// cliRun is one command line's outcome.
type cliRun struct {
	code           int
	stdout, stderr string
}

// runCLI runs `sandbox args…` with env as the only ARGUS_SANDBOX_*
// variables and stdin as input, and checks the token appears nowhere in
// the output.
func runCLI(t *testing.T, env map[string]string, stdin string, args ...string) cliRun {
	t.Helper()
	var out, errOut strings.Builder
	s := cliIO{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(k string) string { return env[k] }}
	code, ok := runCommand(context.Background(), args[0], args[1:], s)
	if !ok {
		t.Fatalf("%q is not a command", args[0])
	}
	r := cliRun{code, out.String(), errOut.String()}
	if strings.Contains(r.stdout+r.stderr, cliToken) {
		t.Errorf("sandbox %s: the token appears in the output:\n%s%s", strings.Join(args, " "), r.stdout, r.stderr)
	}
	return r
}

// startCLISandbox serves a sandbox that requires the operator token and
// returns the environment that points the commands at it.
func startCLISandbox(t *testing.T) (env map[string]string, c *client.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	sb, err := emulator.New(emulator.Config{Issuer: base, OperatorToken: cliToken, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return map[string]string{"ARGUS_SANDBOX_URL": base, "ARGUS_SANDBOX_OPERATOR_TOKEN": cliToken},
		client.New(base, client.WithOperatorToken(cliToken))
}

func wantRun(t *testing.T, r cliRun, code int, stdout, stderr string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit code = %d, want %d; stdout %q, stderr %q", r.code, code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, stdout) {
		t.Errorf("stdout %q lacks %q", r.stdout, stdout)
	}
	if !strings.Contains(r.stderr, stderr) {
		t.Errorf("stderr %q lacks %q", r.stderr, stderr)
	}
}

func TestCLIClock(t *testing.T) {
	env, _ := startCLISandbox(t)
	wantRun(t, runCLI(t, env, "", "clock"), exitOK, " running offset 0s", "")
	wantRun(t, runCLI(t, env, "", "clock", "freeze"), exitOK, " frozen offset ", "")
	clock := func(args ...string) client.ClockState {
		t.Helper()
		r := runCLI(t, env, "", append(append([]string{"clock"}, args...), "--json")...)
		wantRun(t, r, exitOK, "", "")
		var st client.ClockState
		if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
			t.Fatalf("clock %s --json = %q: %v", strings.Join(args, " "), r.stdout, err)
		}
		return st
	}
	before := clock()
	if after := clock("advance", "2h"); !after.Frozen || after.Now.Sub(before.Now) != 2*time.Hour {
		t.Errorf("clock advance 2h moved a frozen clock from %s to %s", before.Now, after.Now)
	}
	if st := clock("set", "2027-01-01T00:00:00Z"); !st.Frozen || !st.Now.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("clock set --json = %+v, want frozen at 2027-01-01", st)
	}
	wantRun(t, runCLI(t, env, "", "clock", "advance", "90m"), exitOK, "2027-01-01T01:30:00Z frozen offset ", "")
	// Running again from where it stood (a moment later by now).
	r := runCLI(t, env, "", "clock", "unfreeze")
	wantRun(t, r, exitOK, " running ", "")
	if !strings.HasPrefix(r.stdout, "2027-01-01T01:30:") {
		t.Errorf("clock unfreeze = %q, want it running on from 2027-01-01", r.stdout)
	}
	wantRun(t, runCLI(t, env, "", "clock", "reset"), exitOK, " running offset 0s", "")
	// The sandbox refuses a time out of its range: exit 1 with its problem.
	wantRun(t, runCLI(t, env, "", "clock", "set", "0001-01-01T00:00:00Z"), exitRuntime, "", "400 invalid_request")
}

func TestCLITrigger(t *testing.T) {
	env, c := startCLISandbox(t)
	var mu sync.Mutex
	var bodies []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer receiver.Close()
	ctx := context.Background()
	if _, err := c.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: "acme", URL: receiver.URL,
		Events: []string{"case.updated"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, env, "", "trigger", "case.updated", "--set", "data.case.title=Wire fraud", "--set", `data.changes={"status":"OPEN"}`, "--count", "3")
	wantRun(t, r, exitOK, "evt_", "")
	ids := strings.Fields(r.stdout)
	if len(ids) != 3 {
		t.Fatalf("trigger --count 3 printed %q, want 3 event ids", r.stdout)
	}
	if err := c.Sandbox().WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(bodies) != 3 {
		t.Errorf("the receiver got %d deliveries, want 3", len(bodies))
	}
	for _, b := range bodies {
		if !strings.Contains(b, `"title":"Wire fraud"`) {
			t.Errorf("delivery %s lacks the --set title", b)
		}
	}
	mu.Unlock()

	r = runCLI(t, env, "", "trigger", "case.updated", "--tenant", "acme", "--json")
	var out client.EventTriggered
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out.EventIDs) != 1 || out.Topic != "case.updated" {
		t.Errorf("trigger --json = %q (%v)", r.stdout, err)
	}
	// The data no longer matches the topic's schema: the sandbox names the field.
	wantRun(t, runCLI(t, env, "", "trigger", "case.updated", "--set", "data.case.priority=2"), exitRuntime, "",
		"422 unprocessable: with these overrides")
	wantRun(t, runCLI(t, env, "", "trigger", "case.shelved"), exitRuntime, "", "/topic: not a topic of the event catalog")
}

func TestCLIFaults(t *testing.T) {
	env, _ := startCLISandbox(t)
	wantRun(t, runCLI(t, env, "", "faults", "list"), exitOK, "no fault rules", "")
	wantRun(t, runCLI(t, env, "", "faults", "add", "--name", "token-outage", "--operation", "token", "--error", "503", "--first", "3"),
		exitOK, "added token-outage (http error)", "")
	wantRun(t, runCLI(t, env, "", "faults", "add", "--name", "slow", "--path", "/v1/platform/**", "--latency", "2s"),
		exitOK, "added slow (http latency)", "")
	stdin := "rules:\n  - {name: dup, match: {topic: case.*}, action: {duplicate: {copies: 2}}}\n  - {name: stale, action: {stale_jwks: {for: 1m}}}\n"
	wantRun(t, runCLI(t, env, stdin, "faults", "add"), exitOK, "added dup (delivery duplicate)\nadded stale (http stale_jwks)", "")
	file := filepath.Join(t.TempDir(), "rules.json")
	if err := os.WriteFile(file, []byte(`[{"name":"expired","action":{"token_expiry":{"expires_in":"0s"}}}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	wantRun(t, runCLI(t, env, "", "faults", "add", "--file", file, "--json"), exitOK, `"name": "expired"`, "")

	r := runCLI(t, env, "", "faults", "list")
	wantRun(t, r, exitOK, "NAME", "")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`token-outage +http +error +operation=token +first=3 +0 +0`),
		regexp.MustCompile(`slow +http +latency +path=/v1/platform/\*\* +\* `),
		regexp.MustCompile(`dup +delivery +duplicate +topic=case\.\*`),
	} {
		if !want.MatchString(r.stdout) {
			t.Errorf("faults list:\n%s\nlacks %s", r.stdout, want)
		}
	}
	r = runCLI(t, env, "", "faults", "list", "--json")
	var rules []client.FaultRuleStatus
	if err := json.Unmarshal([]byte(r.stdout), &rules); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rules {
		names = append(names, r.Name)
	}
	if diff := cmp.Diff([]string{"token-outage", "slow", "dup", "stale", "expired"}, names); diff != "" {
		t.Errorf("faults list --json names (-want +got):\n%s", diff)
	}

	// A name taken: the sandbox refuses, and the rules before the refused
	// one are reported as added.
	wantRun(t, runCLI(t, env, "[{name: new, action: {malformed: {}}}, {name: slow, action: {malformed: {}}}]", "faults", "add"),
		exitRuntime, "", `409 conflict`)
	wantRun(t, runCLI(t, env, "{name: bad, action: {error: {status: 200}}}", "faults", "add"), exitRuntime, "", "/action/error/status")
	wantRun(t, runCLI(t, env, "", "faults", "delete", "slow"), exitOK, "deleted slow", "")
	wantRun(t, runCLI(t, env, "", "faults", "delete", "slow"), exitRuntime, "", `404 not_found: no fault rule is named "slow"`)
	wantRun(t, runCLI(t, env, "", "faults", "clear"), exitOK, "", "")
	wantRun(t, runCLI(t, env, "", "faults", "list"), exitOK, "no fault rules", "")
}

// TestCLIToken checks where the token comes from and that a refusal for
// want of one says so without echoing a token given.
func TestCLIToken(t *testing.T) {
	env, _ := startCLISandbox(t)
	noToken := map[string]string{"ARGUS_SANDBOX_URL": env["ARGUS_SANDBOX_URL"]}
	wantRun(t, runCLI(t, noToken, "", "clock"), exitRuntime, "", "401 unauthorized")
	wantRun(t, runCLI(t, noToken, "", "clock"), exitRuntime, "", "--token or ARGUS_SANDBOX_OPERATOR_TOKEN")
	wantRun(t, runCLI(t, noToken, "", "clock", "--token", cliToken), exitOK, "running", "")
	r := runCLI(t, env, "", "clock", "--token", "op-wrong-9d2c")
	wantRun(t, r, exitRuntime, "", "401")
	if strings.Contains(r.stderr, "op-wrong-9d2c") {
		t.Errorf("stderr shows the token given: %q", r.stderr)
	}
	// The token in the URL's way (a user who put it in --url): redacted too.
	r = runCLI(t, env, "", "clock", "--url", "http://"+cliToken+"@127.0.0.1:1")
	wantRun(t, r, exitRuntime, "", "")
}

func TestCLIUsageErrors(t *testing.T) {
	env := map[string]string{"ARGUS_SANDBOX_URL": "http://127.0.0.1:1", "ARGUS_SANDBOX_OPERATOR_TOKEN": cliToken}
	tests := []struct {
		name    string
		args    []string
		stdin   string
		wantErr string
	}{
		{"unknown verb", []string{"clock", "later"}, "", `unknown command "later" (commands: advance, set, freeze, unfreeze, reset)`},
		{"missing verb", []string{"faults"}, "", "missing command (commands: list, add, delete, clear)"},
		{"unknown flag", []string{"clock", "--nope"}, "", "unknown flag: --nope"},
		{"bad duration", []string{"clock", "advance", "soon"}, "", `"soon" is not a positive duration`},
		{"missing duration", []string{"clock", "advance"}, "", "missing argument: usage: sandbox clock advance DURATION"},
		{"extra argument", []string{"clock", "freeze", "now"}, "", `unexpected argument "now"`},
		{"bad time", []string{"clock", "set", "tomorrow"}, "", `"tomorrow" is not an RFC 3339 time`},
		{"missing topic", []string{"trigger"}, "", "missing argument"},
		{"--set without =", []string{"trigger", "case.updated", "--set", "data.case.title"}, "", "want data.PATH=VALUE"},
		{"--set outside data", []string{"trigger", "case.updated", "--set", "case.title=x"}, "", "starting with data."},
		{"--set empty key", []string{"trigger", "case.updated", "--set", "data.case..title=x"}, "", "empty key"},
		{"--set over a value", []string{"trigger", "case.updated", "--set", "data.case=1", "--set", "data.case.title=x"}, "", "data.case is already set"},
		{"bad count", []string{"trigger", "case.updated", "--count", "0"}, "", "--count 0"},
		{"one-line rule without name", []string{"faults", "add", "--error", "503"}, "", "--name is required"},
		{"one-line rule without action", []string{"faults", "add", "--name", "x"}, "", "give one action"},
		{"one-line rule and file", []string{"faults", "add", "--name", "x", "--error", "503", "--file", "r.yaml"}, "", "not both"},
		{"bad latency", []string{"faults", "add", "--name", "x", "--latency", "slow"}, "", "--latency"},
		{"missing file", []string{"faults", "add", "--file", "/does/not/exist.yaml"}, "", "/does/not/exist.yaml"},
		{"bad YAML", []string{"faults", "add"}, "rules: [", "stdin: yaml"},
		{"unknown rule field", []string{"faults", "add"}, "{name: x, acton: {malformed: {}}}", `rule 1: unknown field "acton"`},
		{"no rules", []string{"faults", "add"}, "[]", "no rules"},
		{"missing rule name", []string{"faults", "delete"}, "", "missing argument"},
		{"bad status filter", []string{"requests", "--status", "teapot"}, "", `--status "teapot"`},
		{"bad since", []string{"requests", "--since", "yesterday"}, "", `--since "yesterday"`},
		{"bad type", []string{"tail", "--types", "request,metric"}, "", `"metric" is not one of request, event, delivery, fault`},
		{"bad URL", []string{"clock", "--url", "ftp://x"}, "", `--url "ftp://x" is not an http(s) base URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, env, tt.stdin, tt.args...)
			wantRun(t, r, exitUsage, "", tt.wantErr)
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if !strings.Contains(r.stderr, "--help' for usage.") {
				t.Errorf("stderr %q does not point at --help", r.stderr)
			}
		})
	}
	// Nothing answers: exit 1, not 2.
	wantRun(t, runCLI(t, env, "", "clock"), exitRuntime, "", "sandbox clock: client: GET /_sandbox/clock")
}

// TestCLIHelp asks for help at every level: usage on stdout, exit 0.
func TestCLIHelp(t *testing.T) {
	env := map[string]string{"ARGUS_SANDBOX_OPERATOR_TOKEN": cliToken}
	var lines [][]string
	for _, g := range groups() {
		lines = append(lines, []string{g.name, "--help"}, []string{g.name, "-h"})
		for _, l := range g.verbs {
			lines = append(lines, []string{g.name, l.verb, "--help"})
		}
	}
	for _, args := range lines {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, env, "", args...)
			wantRun(t, r, exitOK, "Usage: sandbox "+args[0], "")
			if r.stderr != "" {
				t.Errorf("stderr = %q, want nothing", r.stderr)
			}
			if !strings.Contains(r.stdout, "Exit codes: 0 done; 1 the sandbox refused") || !strings.Contains(r.stdout, "--url") {
				t.Errorf("usage lacks the exit codes or the common flags:\n%s", r.stdout)
			}
		})
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		var out, errOut strings.Builder
		if code := run(context.Background(), args, &out, &errOut); code != exitOK || errOut.Len() != 0 {
			t.Errorf("sandbox %s: exit %d, stderr %q", args[0], code, errOut.String())
		}
		for _, want := range []string{"Usage: sandbox [flags]", "trigger", "tail", "requests", "clock", "faults", "--operator-token"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("sandbox %s: stdout lacks %q", args[0], want)
			}
		}
	}
}

func TestParseSets(t *testing.T) {
	tests := []struct {
		name string
		sets []string
		want map[string]any
	}{
		{"none", nil, nil},
		{"string", []string{"data.case.title=Wire fraud"}, map[string]any{"case": map[string]any{"title": "Wire fraud"}}},
		{"JSON values", []string{"data.n=2", "data.b=true", "data.z=null", `data.q="2"`, `data.o={"a":[1]}`},
			map[string]any{"n": 2.0, "b": true, "z": nil, "q": "2", "o": map[string]any{"a": []any{1.0}}}},
		{"not JSON", []string{"data.s={oops", "data.e="}, map[string]any{"s": "{oops", "e": ""}},
		{"value with = and dots", []string{"data.url=https://x.example/a?b=c"}, map[string]any{"url": "https://x.example/a?b=c"}},
		{"siblings merge", []string{"data.case.title=x", "data.case.tags=[\"a\"]", "data.actor.id=usr_1"},
			map[string]any{"case": map[string]any{"title": "x", "tags": []any{"a"}}, "actor": map[string]any{"id": "usr_1"}}},
		{"last wins", []string{"data.a=1", "data.a=2"}, map[string]any{"a": 2.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSets(tt.sets)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseSets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCLIDefaultURL(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		flag string
		want string
	}{
		{"nothing set", nil, "", "http://127.0.0.1:8080"},
		{"image address", map[string]string{"ARGUS_SANDBOX_ADDR": "0.0.0.0:8080"}, "", "http://127.0.0.1:8080"},
		{"IPv6 wildcard", map[string]string{"ARGUS_SANDBOX_ADDR": "[::]:9000"}, "", "http://127.0.0.1:9000"},
		{"named address", map[string]string{"ARGUS_SANDBOX_ADDR": "sandbox:9000"}, "", "http://sandbox:9000"},
		{"URL wins over address", map[string]string{"ARGUS_SANDBOX_ADDR": "0.0.0.0:8080", "ARGUS_SANDBOX_URL": "https://sb.example/"}, "", "https://sb.example"},
		{"flag wins", map[string]string{"ARGUS_SANDBOX_URL": "https://sb.example"}, "http://127.0.0.1:9", "http://127.0.0.1:9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := &cli{cliIO: cliIO{getenv: func(k string) string { return tt.env[k] }}, url: tt.flag}
			if err := cl.resolveURL(); err != nil || cl.url != tt.want {
				t.Errorf("url = %q (%v), want %q", cl.url, err, tt.want)
			}
		})
	}
}
