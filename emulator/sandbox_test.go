package emulator_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/knogin/argus-sandbox/emulator"
)

type sandboxEnv struct {
	sb  *emulator.Sandbox
	url string
}

// newSandbox starts a whole sandbox on an httptest server, validating every
// response against the specs.
func newSandbox(t *testing.T) *sandboxEnv { return newSandboxWith(t, func(*emulator.Config) {}) }

// newSandboxWith is newSandbox with a config that set changes (a durable
// store).
func newSandboxWith(t *testing.T, set func(*emulator.Config)) *sandboxEnv {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	cfg := emulator.Config{
		Issuer:   "http://" + srv.Listener.Addr().String(),
		Loopback: true,
		CheckResponse: func(r *http.Request, op string, err error) {
			t.Errorf("response of %s does not match the spec: %v", op, err)
		},
	}
	set(&cfg)
	sb, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return &sandboxEnv{sb: sb, url: srv.URL}
}
