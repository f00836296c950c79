package sandboxtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/testcontainers/testcontainers-go"

	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/sandboxtest"
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
// image scripts/build-image.sh builds from this source tree (reused when
// one was already built from the same sources).
func sandboxImage(t *testing.T) string {
	t.Helper()
	if img := os.Getenv("ARGUS_SANDBOX_IMAGE"); img != "" {
		return img
	}
	cmd := exec.Command("bash", "../scripts/build-image.sh")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("scripts/build-image.sh: %v\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

func TestContainer(t *testing.T) {
	requireDocker(t)
	image := sandboxImage(t)
	ctx := context.Background()

	sb, err := sandboxtest.Run(ctx, sandboxtest.WithImage(image))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sb.Terminate(context.Background()); err != nil {
			t.Errorf("terminate: %v", err)
		}
	})

	t.Run("image", func(t *testing.T) {
		info, err := sb.Container().Inspect(ctx)
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
		code, out, err := sb.Container().Exec(ctx, []string{"/sandbox", "healthcheck"})
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 {
			b, _ := io.ReadAll(out)
			t.Errorf("/sandbox healthcheck exit code = %d: %s", code, b)
		}
	})

	t.Run("portal flow", func(t *testing.T) { portalFlow(t, sb) })

	t.Run("integrator flow", func(t *testing.T) {
		got, err := caseUpdateDelivery(ctx, sb)
		if err != nil {
			t.Fatal(notWired(err))
		}
		if want := "verified case.updated: case_acme_1001 OPEN -> IN_PROGRESS"; got != want {
			t.Errorf("delivery = %q, want %q", got, want)
		}
	})

	t.Run("control plane", func(t *testing.T) { controlPlane(t, sb) })

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
		sb2, err := sandboxtest.Run(ctx, sandboxtest.WithImage(image), sandboxtest.WithFixtures(dir),
			sandboxtest.WithFaults(faultsFile), sandboxtest.WithSeed(42))
		if err != nil {
			t.Fatal(err)
		}
		defer sb2.Terminate(ctx)
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
				if got, _ := adminGet(t, sb2, tt.tenant, "/v1/platform/apps"); got != tt.want {
					t.Errorf("GET apps as %s: %d, want %d", tt.tenant, got, tt.want)
				}
			})
		}
		if got := sb2.AdminToken("globex"); got != "sandbox_admin_globex_ci" {
			t.Errorf("AdminToken(globex) = %q, want the mounted fixtures' token", got)
		}
	})

	// Last: stopping sends SIGTERM (STOPSIGNAL) and waits up to 10 s before
	// SIGKILL; a prompt, clean exit shows the binary as PID 1 handles it.
	t.Run("SIGTERM stops promptly", func(t *testing.T) {
		timeout := 10 * time.Second
		start := time.Now()
		if err := sb.Container().Stop(ctx, &timeout); err != nil {
			t.Fatal(err)
		}
		took := time.Since(start)
		t.Logf("stopped in %s", took.Round(time.Millisecond))
		if took > 5*time.Second {
			t.Errorf("stop took %s, want < 5s", took)
		}
		st, err := sb.Container().State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.ExitCode != 0 {
			t.Errorf("exit code after SIGTERM = %d, want 0 (clean shutdown)", st.ExitCode)
		}
	})
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

// notWired turns a 404 from a surface that is not assembled yet into a
// message saying so.
func notWired(err error) error {
	if err != nil && strings.Contains(err.Error(), "404 Not Found") {
		return &wiringError{err}
	}
	return err
}

type wiringError struct{ err error }

func (e *wiringError) Error() string {
	return "an endpoint answered 404: its surface is not wired into the sandbox (emulator.New) yet: " + e.err.Error()
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
