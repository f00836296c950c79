package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/fixtures"
)

func TestRunRefusesBadConfiguration(t *testing.T) {
	badFixtures := t.TempDir()
	for _, name := range []string{"tenants.yaml", "scopes.yaml", "cases.yaml", "events.yaml", "bundles.yaml"} {
		data, err := fixtures.Default().(interface{ ReadFile(string) ([]byte, error) }).ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if name == "cases.yaml" {
			data = []byte(strings.Replace(string(data), "status: OPEN", "status: SHELVED", 1))
		}
		if err := os.WriteFile(filepath.Join(badFixtures, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	faultsDir := t.TempDir()
	overflow, closed := filepath.Join(faultsDir, "overflow.yaml"), filepath.Join(faultsDir, "closed.yaml")
	never := filepath.Join(faultsDir, "never.yaml")
	for name, rule := range map[string]string{
		overflow: "{name: a, when: {after: 1, first: 9223372036854775807}, action: {malformed: {}}}",
		closed:   "{name: b, when: {from: 2h, until: 1h}, action: {malformed: {}}}",
		never:    "{name: c, when: {from: 2h, until: \"2000-01-01T00:00:00Z\"}, action: {malformed: {}}}",
	} {
		if err := os.WriteFile(name, []byte("rules:\n  - {name: ok, action: {malformed: {}}}\n  - "+rule+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{"unknown flag", []string{"--nope"}, []string{"unknown flag: --nope"}},
		{"stray argument", []string{"serve"}, []string{`unexpected argument "serve"`}},
		{"every problem together", []string{"--addr", "nohost", "--log-format", "xml", "--fixtures", "/does/not/exist"},
			[]string{`--addr "nohost"`, `--log-format "xml"`, `--fixtures "/does/not/exist"`}},
		{"bad fixture names file and field", []string{"--addr", "127.0.0.1:0", "--fixtures", badFixtures},
			[]string{"cases.yaml", "cases[0].status", "SHELVED"}},
		{"bad issuer", []string{"--issuer", "ftp://x/y"}, []string{`--issuer "ftp://x/y"`}},
		{"bad port", []string{"--addr", "127.0.0.1:18555x"}, []string{`--addr "127.0.0.1:18555x": port must be a number`}},
		{"bad signing alg", []string{"--signing-alg", "HS256"}, []string{`--signing-alg "HS256"`}},
		{"bad fault file", []string{"--faults", "/does/not/exist.yaml"}, []string{"--faults"}},
		{"fault count that would overflow", []string{"--faults", overflow}, []string{overflow, "/rules/1/when/first"}},
		{"fault window that never opens", []string{"--faults", closed}, []string{closed, "/rules/1/when/until"}},
		{"fault window that never opens on the clock", []string{"--addr", "127.0.0.1:0", "--faults", never}, []string{never + ": invalid fault rules: /rules/1/when/until"}},
		{"bad pprof address", []string{"--pprof", "6060"}, []string{`--pprof "6060"`}},
		{"data dir and database URL together", []string{"--data-dir", t.TempDir(), "--database-url", "postgres://u:hunter2@127.0.0.1:1/db"},
			[]string{"--data-dir and --database-url"}},
		{"database URL of another engine", []string{"--database-url", "mysql://127.0.0.1/db"}, []string{"--database-url: must be a postgres://"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			code := run(context.Background(), tt.args, io.Discard, &stderr)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr %q lacks %q", stderr.String(), want)
				}
			}
		})
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--addr", "127.0.0.1:0", "--log-level", "error"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	const banner = "argus-sandbox listening on http://"
	if !strings.HasPrefix(line, banner) {
		t.Fatalf("first line = %q", line)
	}
	base := strings.TrimSpace(strings.TrimPrefix(line, "argus-sandbox listening on "))
	req, _ := http.NewRequest("GET", base+"/v1/platform/apps", nil)
	req.Header.Set("Authorization", "Bearer sandbox_admin_acme")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET apps: %s", resp.Status)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("exit code after shutdown = %d", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop after cancellation")
	}
}

func TestHealthcheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"base URL", []string{srv.URL}, exitOK},
		{"--addr", []string{"--addr", addr}, exitOK},
		{"unhealthy", []string{down.URL}, exitRuntime},
		{"not a URL", []string{"localhost:1"}, exitUsage},
		{"two arguments", []string{srv.URL, srv.URL}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := run(context.Background(), append([]string{"healthcheck"}, tt.args...), io.Discard, io.Discard); got != tt.want {
				t.Errorf("exit code = %d, want %d", got, tt.want)
			}
		})
	}
}
