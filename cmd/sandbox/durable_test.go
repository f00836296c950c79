package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/internal/pgtest"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create test databases
)

// sandboxBinary builds cmd/sandbox once per test.
func sandboxBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sandbox")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a sandbox process listening on base.
type proc struct {
	cmd  *exec.Cmd
	base string
}

// startProcess starts the binary with args (and env, added to the
// test's) and waits for its banner.
func startProcess(t *testing.T, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := make(chan string)
	go func() {
		br := bufio.NewReader(stdout)
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				close(lines)
				return
			}
			lines <- line
		}
	}()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the sandbox exited before listening; stderr: %s", stderr.String())
			}
			if rest, ok := strings.CutPrefix(line, "argus-sandbox listening on "); ok {
				go func() {
					for range lines {
					}
				}()
				return &proc{cmd: cmd, base: strings.TrimSpace(rest)}
			}
		case <-deadline:
			t.Fatalf("no banner within a minute; stderr: %s", stderr.String())
		}
	}
}

// kill ends the process with SIGKILL: nothing is flushed or closed.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// call sends a request and decodes the JSON answer into out.
func (p *proc) call(t *testing.T, method, path, bearer, contentType, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, p.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// token mints a client-credentials token; it fails the test unless the
// token endpoint answers 200.
func (p *proc) token(t *testing.T, clientID, secret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret},
		"scope": {"webhooks:read webhooks:write"}}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code := p.call(t, "POST", "/v1/oauth/token", "", "application/x-www-form-urlencoded", form.Encode(), &tok); code != 200 || tok.AccessToken == "" {
		t.Fatalf("token request = %d %+v", code, tok)
	}
	return tok.AccessToken
}

// testSurvivesSIGKILL registers an app and a webhook on a sandbox started
// with args, creates a tenant, moves its clock and adds a fault rule that
// fires once, SIGKILLs the sandbox, starts another on the same store: the
// token minted before still verifies, the app's credentials still mint
// one, the webhook is still listed, the tenant's admin and control tokens
// work, its clock is where it was and the rule has fired once.
func testSurvivesSIGKILL(t *testing.T, env []string, args ...string) {
	bin := sandboxBinary(t)
	// Tokens name the issuer, which names the port by default: both runs
	// get the same one.
	args = append(args, "--issuer", "http://sandbox.test", "--operator-token", "op_test")
	first := startProcess(t, bin, env, args...)
	var tenant struct {
		AdminToken   string `json:"admin_token"`
		ControlToken string `json:"control_token"`
	}
	if code := first.call(t, "POST", "/_sandbox/tenants", "op_test", "application/json", `{"id":"runtime","name":"Run Time"}`, &tenant); code != 201 || tenant.ControlToken == "" {
		t.Fatalf("create tenant = %d %+v", code, tenant)
	}
	var clock struct {
		Now    time.Time `json:"now"`
		Frozen bool      `json:"frozen"`
	}
	if code := first.call(t, "POST", "/_sandbox/clock", tenant.ControlToken, "application/json", `{"freeze":true,"advance":"24h"}`, &clock); code != 200 || !clock.Frozen {
		t.Fatalf("move the tenant's clock = %d %+v", code, clock)
	}
	frozenAt := clock.Now
	if code := first.call(t, "POST", "/_sandbox/faults", tenant.ControlToken, "application/json",
		`{"name":"once","match":{"operation":"listApps"},"when":{"first":1},"action":{"error":{"status":503}}}`, nil); code != 201 {
		t.Fatalf("add a fault rule = %d", code)
	}
	if code := first.call(t, "GET", "/v1/platform/apps", tenant.AdminToken, "", "", nil); code != 503 {
		t.Fatalf("the fault rule's first match = %d, want 503", code)
	}
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if code := first.call(t, "POST", "/v1/platform/apps", "sandbox_admin_acme", "application/json",
		`{"name":"Durable","grant_types":["client_credentials"],"requested_scopes":["webhooks:read","webhooks:write"]}`, &app); code != 201 {
		t.Fatalf("create app = %d", code)
	}
	tok := first.token(t, app.ClientID, app.ClientSecret)
	var hook struct {
		ID string `json:"id"`
	}
	if code := first.call(t, "POST", "/v1/webhooks", tok, "application/json",
		`{"url":"https://integrator.example/hook","events":["case.updated"]}`, &hook); code != 201 || hook.ID == "" {
		t.Fatalf("create webhook = %d %+v", code, hook)
	}
	first.kill(t)

	second := startProcess(t, bin, env, args...)
	// The tenant created at run time: its tokens, its clock, its rule.
	clock.Now, clock.Frozen = time.Time{}, false
	if code := second.call(t, "GET", "/_sandbox/clock", tenant.ControlToken, "", "", &clock); code != 200 || !clock.Frozen || !clock.Now.Equal(frozenAt) {
		t.Fatalf("the tenant's clock after the restart = %d %+v, want frozen at %v", code, clock, frozenAt)
	}
	var rule struct {
		Fired int `json:"fired"`
	}
	if code := second.call(t, "GET", "/_sandbox/faults/once", tenant.ControlToken, "", "", &rule); code != 200 || rule.Fired != 1 {
		t.Fatalf("the fault rule after the restart = %d %+v, want fired once", code, rule)
	}
	if code := second.call(t, "GET", "/v1/platform/apps", tenant.AdminToken, "", "", nil); code != 200 {
		t.Fatalf("the tenant's admin token after the restart = %d, want 200 (the rule fired its one time before)", code)
	}
	type webhookList struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	// The token issued before the crash verifies: the signing keys are kept.
	var list webhookList
	if code := second.call(t, "GET", "/v1/webhooks", tok, "", "", &list); code != 200 || len(list.Data) != 1 || list.Data[0].ID != hook.ID {
		t.Fatalf("webhooks after the restart, with the token of before = %d %+v, want %s", code, list, hook.ID)
	}
	tok = second.token(t, app.ClientID, app.ClientSecret)
	list = webhookList{}
	if code := second.call(t, "GET", "/v1/webhooks", tok, "", "", &list); code != 200 || len(list.Data) != 1 || list.Data[0].ID != hook.ID {
		t.Fatalf("webhooks after the restart, with a new token = %d %+v, want %s", code, list, hook.ID)
	}
}

func TestDataDirSurvivesSIGKILL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	testSurvivesSIGKILL(t, nil, "--data-dir", dir)
	for name, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "sandbox.db"): 0o600} {
		if st, err := os.Stat(name); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: mode %v (%v), want %v", name, st.Mode().Perm(), err, want)
		}
	}
}

func TestDatabaseURLSurvivesSIGKILL(t *testing.T) {
	testSurvivesSIGKILL(t, []string{"ARGUS_SANDBOX_DATABASE_URL=" + pgtest.Database(t)})
}

func TestUnreachableDatabaseExitsNamingIt(t *testing.T) {
	var stderr strings.Builder
	start := time.Now()
	code := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--database-url", "postgres://sandbox:hunter2@127.0.0.1:1/argus",
		"--database-timeout", "1s"}, io.Discard, &stderr)
	if code != exitRuntime {
		t.Errorf("exit code = %d, want %d; stderr: %s", code, exitRuntime, stderr.String())
	}
	if !strings.Contains(stderr.String(), "127.0.0.1:1/argus") || !strings.Contains(stderr.String(), "unreachable") {
		t.Errorf("stderr %q does not name the unreachable database", stderr.String())
	}
	if strings.Contains(stderr.String(), "hunter2") {
		t.Errorf("stderr %q shows the database password", stderr.String())
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("gave up after %s, want about the 1s --database-timeout", d)
	}
}
