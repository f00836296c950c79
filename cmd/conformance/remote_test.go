package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

// startSandbox serves a sandbox protected by an operator token, as one
// beyond loopback is, and returns its base URL.
func startSandbox(t *testing.T, operatorToken string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	sb, err := emulator.New(emulator.Config{Issuer: base, OperatorToken: operatorToken})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return base
}

// TestTargetThroughRemoteSandbox is the secret hand-off of --target mode
// against an external sandbox: the consumer already runs with its secret,
// and the runner subscribes it with that secret through the control plane.
func TestTargetThroughRemoteSandbox(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	c, err := consumer.New(consumer.Config{Secret: secret, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	target := httptest.NewServer(c.Handler())
	t.Cleanup(target.Close)

	base := startSandbox(t, "op-cli")

	tests := []struct {
		name     string
		secret   string
		token    string
		wantCode int
		wantOut  string
	}{
		{name: "the consumer's secret", secret: secret, token: "op-cli", wantCode: 0, wantOut: "3 passed, 0 failed, 0 unverified"},
		{name: "another secret", secret: "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY", token: "op-cli", wantCode: 1, wantOut: "FAIL"},
		{name: "wrong operator token", secret: secret, token: "nope", wantCode: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ARGUS_SANDBOX_OPERATOR_TOKEN", tt.token)
			var stdout, stderr strings.Builder
			code := run([]string{"run", "--target", target.URL + consumer.WebhookPath, "--secret", tt.secret,
				"--probe", target.URL + consumer.ProbePath, "--sandbox", base,
				"--run", "^(single-delivery|duplicate-sequential|invalid-signature)$"}, &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantOut) {
				t.Errorf("report lacks %q:\n%s", tt.wantOut, stdout.String())
			}
		})
	}
}

// TestErrorsNameFlags: the library reports the Config field at fault and
// the command names the flag that sets it.
func TestErrorsNameFlags(t *testing.T) {
	base := startSandbox(t, "op-cli")

	tests := []struct {
		name    string
		args    []string
		wantErr []string
	}{
		{name: "wrong operator token", args: []string{"--sandbox", base, "--operator-token", "nope"},
			wantErr: []string{"--operator-token does not open the sandbox's control plane", "401"}},
		{name: "wrong admin token", args: []string{"--sandbox", base, "--operator-token", "op-cli", "--admin-token", "nope"},
			wantErr: []string{"--admin-token does not open the webhooks API of tenant acme", "401"}},
		{name: "sandbox not a URL", args: []string{"--sandbox", "127.0.0.1:8080"}, wantErr: []string{`--sandbox "127.0.0.1:8080" is not`}},
		{name: "bad regexp", args: []string{"--run", "("}, wantErr: []string{"--run is not a regular expression"}},
		{name: "run selects nothing", args: []string{"--run", "^nothing$"}, wantErr: []string{`--run "^nothing$" selects no scenario`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			args := append([]string{"run", "--exec", "true"}, tt.args...)
			if code := run(args, &stdout, &stderr); code != 2 {
				t.Errorf("exit code %d, want 2", code)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr %q lacks %q", stderr.String(), w)
				}
			}
			for _, field := range []string{"Sandbox.", "Run ", "Secret "} {
				if strings.Contains(stderr.String(), field) {
					t.Errorf("stderr %q names the library field %q instead of the flag", stderr.String(), field)
				}
			}
		})
	}
}
