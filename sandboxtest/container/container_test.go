package container_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/testcontainers/testcontainers-go"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/internal/tenantcheck"
	"github.com/knogin/argus-sandbox/sandboxtest"
	"github.com/knogin/argus-sandbox/sandboxtest/container"
)

// Container tests need a Docker engine. Without one they skip, except in CI
// (CI set), where the engine is part of the machine and a skip would hide a
// broken image.
func requireDocker(t *testing.T) {
	t.Helper()
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		// No reaper image can be pulled on registry-less machines; these
		// tests terminate their containers themselves.
		t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	fail := t.Skipf
	if os.Getenv("CI") != "" {
		fail = t.Fatalf
	}
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		fail("no Docker engine (container tests need one): %v", err)
		return
	}
	defer p.Close()
	if err := p.Health(context.Background()); err != nil {
		fail("no Docker engine (container tests need one): %v", err)
	}
}

// sandboxImage returns the image under test: ARGUS_SANDBOX_IMAGE, or the
// image scripts/build-image.sh builds from this source tree and tags
// container.DefaultImage (reused when one was already built from the same
// sources, so only the first run after a change builds).
func sandboxImage(t *testing.T) string {
	t.Helper()
	if img := os.Getenv("ARGUS_SANDBOX_IMAGE"); img != "" {
		return img
	}
	t.Log("building the image with scripts/build-image.sh (cached by source hash)")
	cmd := exec.Command("bash", "../../scripts/build-image.sh")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if _, err := cmd.Output(); err != nil {
		t.Fatalf("scripts/build-image.sh: %v\n%s", err, stderr.String())
	}
	return container.DefaultImage
}

// start runs image with opts and terminates it when t ends.
func start(t *testing.T, image string, opts ...testcontainers.ContainerCustomizer) *container.Container {
	t.Helper()
	ctr, err := container.Run(t.Context(), image, opts...)
	testcontainers.CleanupContainer(t, ctr)
	if err != nil {
		t.Fatal(err)
	}
	return ctr
}

func TestRun(t *testing.T) {
	requireDocker(t)
	image := sandboxImage(t)
	ctx := context.Background()
	ctr := start(t, image)

	t.Run("image", func(t *testing.T) {
		info, err := ctr.Inspect(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if u := info.Config.User; u != "65532:65532" {
			t.Errorf("user = %q, want the non-root 65532:65532", u)
		}
		size := imageSize(t, image)
		t.Logf("image %s: %.1f MB", image, float64(size)/1e6)
		if size > 20e6 {
			t.Errorf("image is %d bytes, want < 20 MB", size)
		}
	})

	t.Run("healthcheck without a shell", func(t *testing.T) {
		code, out, err := ctr.Exec(ctx, []string{"/sandbox", "healthcheck"})
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 {
			b, _ := io.ReadAll(out)
			t.Errorf("/sandbox healthcheck exit code = %d: %s", code, b)
		}
	})

	t.Run("portal flow", func(t *testing.T) { portalFlow(t, ctr.Sandbox) })

	t.Run("integrator helpers", func(t *testing.T) { integratorFlow(t, ctr.Sandbox) })

	t.Run("control plane", func(t *testing.T) {
		before, err := ctr.Now(ctx)
		if err != nil {
			t.Fatal(err)
		}
		after, err := ctr.AdvanceClock(ctx, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if d := after.Sub(before); d < time.Hour || d > time.Hour+time.Minute {
			t.Errorf("clock moved by %s, want 1h", d)
		}
		if err := ctr.AddFault(ctx, sandboxtest.ErrorFault("token-down", client.FaultMatch{Operation: "token"}, 503)); err != nil {
			t.Fatal(err)
		}
		_, err = ctr.Client().OAuth().ClientCredentials(ctx, client.Credentials{ClientID: "cli_any", ClientSecret: "x"})
		var refused *sandboxtest.Error
		if !errors.As(err, &refused) || refused.Status != http.StatusServiceUnavailable {
			t.Errorf("token under a 503 fault: %v", err)
		}
		if err := ctr.Reset(ctx, false); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("mounted fixtures, faults file and seed", func(t *testing.T) {
		dir := t.TempDir()
		for _, name := range []string{"tenants.yaml", "scopes.yaml", "cases.yaml", "events.yaml", "bundles.yaml"} {
			data, err := fs.ReadFile(fixtures.Default(), name)
			if err != nil {
				t.Fatal(err)
			}
			if name == "tenants.yaml" {
				data = bytes.ReplaceAll(data, []byte("sandbox_admin_globex"), []byte("sandbox_admin_globex_ci"))
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		faultsFile := filepath.Join(t.TempDir(), "faults.yaml")
		rules := "rules:\n  - name: apps-down\n    match: {path: /v1/platform/apps, tenant: acme}\n    action: {error: {status: 502}}\n"
		if err := os.WriteFile(faultsFile, []byte(rules), 0o600); err != nil {
			t.Fatal(err)
		}
		ctr2 := start(t, image, container.WithFixtures(dir), container.WithFaults(faultsFile),
			container.WithSeed(42), container.WithOperatorToken("op_chosen"))
		if got := ctr2.OperatorToken(); got != "op_chosen" {
			t.Errorf("OperatorToken() = %q, want op_chosen", got)
		}
		if err := ctr2.Health(ctx); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name   string
			tenant string
			want   int
		}{
			{"token from the mounted fixtures", "globex", http.StatusOK},
			{"rule from the faults file", "acme", http.StatusBadGateway},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := ctr2.Client().With(client.WithToken(ctr2.AdminToken(tt.tenant))).Platform().ListApps(ctx, client.ListOptions{})
				got := http.StatusOK
				var e *sandboxtest.Error
				if errors.As(err, &e) {
					got = e.Status
				} else if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("GET apps as %s: %d, want %d", tt.tenant, got, tt.want)
				}
			})
		}
		if got := ctr2.AdminToken("globex"); got != "sandbox_admin_globex_ci" {
			t.Errorf("AdminToken(globex) = %q, want the mounted fixtures' token", got)
		}
	})

	// Last: stopping sends SIGTERM (STOPSIGNAL) and waits up to 10 s before
	// SIGKILL; a prompt, clean exit shows the binary as PID 1 handles it.
	t.Run("SIGTERM stops promptly", func(t *testing.T) {
		timeout := 10 * time.Second
		start := time.Now()
		if err := ctr.Stop(ctx, &timeout); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		t.Logf("stopped in %s", took.Round(time.Millisecond))
		if took > 5*time.Second {
			t.Errorf("stop took %s, want < 5s", took)
		}
		st, err := ctr.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.ExitCode != 0 {
			t.Errorf("exit code after SIGTERM = %d, want 0 (clean shutdown)", st.ExitCode)
		}
	})
}

// TestRunAbsentImage: an image of the project's repository that the engine
// lacks is refused at once with how to build it, instead of a pull from a
// registry that does not have it.
func TestRunAbsentImage(t *testing.T) {
	requireDocker(t)
	ctr, err := container.Run(t.Context(), container.DefaultRepository+":0.0.0-absent")
	testcontainers.CleanupContainer(t, ctr)
	if err == nil || !strings.Contains(err.Error(), "scripts/build-image.sh") {
		t.Errorf("Run(absent image) = %v, want an error saying to run scripts/build-image.sh", err)
	}
}

// TestRunBadFiles: bad fixtures and faults files are reported together,
// by name and field, before any container (or Docker) is involved.
func TestRunBadFiles(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules:\n  - name: x\n    action: {error: {status: 418}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctr, err := container.Run(t.Context(), "unused", container.WithFaults(bad), container.WithFixtures(filepath.Join(dir, "missing")))
	if ctr != nil {
		t.Error("a container was returned")
	}
	for _, w := range []string{"bad.yaml", "/rules/0/action/error/status", "missing"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

// TestDefaultImageIsBuilt: scripts/build-image.sh tags its build as
// DefaultImage, the reference Run users pass.
func TestDefaultImageIsBuilt(t *testing.T) {
	script, err := os.ReadFile("../../scripts/build-image.sh")
	if err != nil {
		t.Fatal(err)
	}
	repo, version, _ := strings.Cut(container.DefaultImage, ":")
	if repo != container.DefaultRepository || version == "" {
		t.Fatalf("DefaultImage %q is not DefaultRepository:version", container.DefaultImage)
	}
	for _, want := range []string{"release=${RELEASE:-" + version + "}", "repo=${IMAGE:-" + repo + "}"} {
		if !bytes.Contains(script, []byte(want)) {
			t.Errorf("scripts/build-image.sh lacks %q", want)
		}
	}
}

// TestTenantsAreIsolatedInTheContainer runs the shared-sandbox sequence
// (tenants created at run time, each with its own clock, fault rules and
// control token) against the image, as it runs in process in package
// emulator.
func TestTenantsAreIsolatedInTheContainer(t *testing.T) {
	requireDocker(t)
	ctr := start(t, sandboxImage(t))
	tenantcheck.Run(t, client.New(ctr.BaseURL(), client.WithOperatorToken(ctr.OperatorToken())), func(t *testing.T, h http.Handler) string {
		srv, err := ctr.StartReceiver(h)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(srv.Close)
		return srv.URL
	})
}

// integratorFlow runs an integration's test with the helpers: register an
// app, mint a token, subscribe a receiver with its own secret, trigger an
// event, wait until deliveries are idle and verify the one delivery.
func integratorFlow(t *testing.T, sb *sandboxtest.Sandbox) {
	ctx := t.Context()
	app, err := sb.RegisterApp(ctx, "acme", "webhooks:read")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Token(ctx, app); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []delivery
	rcv, err := sb.StartReceiver(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, delivery{r.Header.Clone(), b})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a secret the consumer chose!"))
	if _, err := sb.Subscribe(ctx, "acme", rcv.URL+"/hook", secret, "case.closed"); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.TriggerEvent(ctx, "acme", "case.closed", nil); err != nil {
		t.Fatal(err)
	}
	if err := sb.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d deliveries after WaitIdle, want 1", len(got))
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(got[0].body, got[0].header); err != nil {
		t.Errorf("delivery not signed with the chosen secret: %v", err)
	}
}

// delivery is one webhook request as the receiver saw it.
type delivery struct {
	header http.Header
	body   []byte
}

// portalFlow sends the developer portal's three curl examples, byte for
// byte apart from the host: register an app, exchange client credentials
// for a token, create an outbound webhook.
func portalFlow(t *testing.T, sb *sandboxtest.Sandbox) {
	var app struct{ ClientID, ClientSecret string }
	resp := send(t, sb, "/v1/platform/apps", map[string]string{
		"Authorization": "Bearer " + sb.AdminToken("acme"),
		"Content-Type":  "application/json",
	}, `{"name":"Case sync connector","grant_types":["client_credentials"],"requested_scopes":["webhooks:write"]}`,
		http.StatusCreated, map[string]*string{"client_id": &app.ClientID, "client_secret": &app.ClientSecret})
	if resp == nil {
		return
	}
	var token string
	form := "grant_type=client_credentials&client_id=" + url.QueryEscape(app.ClientID) +
		"&client_secret=" + url.QueryEscape(app.ClientSecret) + "&scope=webhooks:write"
	if send(t, sb, "/v1/oauth/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		form, http.StatusOK, map[string]*string{"access_token": &token}) == nil {
		return
	}
	var hookID string
	send(t, sb, "/v1/webhooks", map[string]string{
		"Authorization": "Bearer " + token,
		"Content-Type":  "application/json",
	}, `{"url":"https://integrator.example/webhooks/argus","events":["case.updated"]}`,
		http.StatusCreated, map[string]*string{"id": &hookID})
	if !strings.HasPrefix(hookID, "wh_") {
		t.Errorf("webhook id = %q, want wh_…", hookID)
	}
}

// send POSTs body and checks the status; fields receives string members of
// the JSON answer. It returns nil after reporting a failure.
func send(t *testing.T, sb *sandboxtest.Sandbox, path string, header map[string]string, body string, want int, fields map[string]*string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, sb.BaseURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := sb.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusNotFound {
		t.Errorf("POST %s answered 404: the surface serving it is not wired into the sandbox (emulator.New) yet: %s", path, data)
		return nil
	}
	if resp.StatusCode != want {
		t.Errorf("POST %s: %s, want %d: %s", path, resp.Status, want, data)
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Errorf("POST %s: %v", path, err)
		return nil
	}
	for k, p := range fields {
		s, _ := m[k].(string)
		if s == "" {
			t.Errorf("POST %s: answer lacks %q: %s", path, k, data)
		}
		*p = s
	}
	return resp
}

func imageSize(t *testing.T, image string) int64 {
	t.Helper()
	out, err := exec.Command("docker", "image", "inspect", "--format", "{{.Size}}", image).Output()
	if err != nil {
		t.Fatalf("docker image inspect %s: %v", image, err)
	}
	var size int64
	if err := json.Unmarshal(bytes.TrimSpace(out), &size); err != nil {
		t.Fatalf("image size %q: %v", out, err)
	}
	return size
}
