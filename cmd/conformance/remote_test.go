package main

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

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

	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	sb, err := emulator.New(emulator.Config{Issuer: base, OperatorToken: "op-cli"})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); sb.Close() })

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
