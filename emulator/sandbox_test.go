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
func newSandbox(t *testing.T) *sandboxEnv {
	t.Helper()
	return newSandboxConfig(t, emulator.Config{Loopback: true})
}

// newSandboxConfig is newSandbox with cfg (its Issuer and CheckResponse
// are set here).
func newSandboxConfig(t *testing.T, cfg emulator.Config) *sandboxEnv {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	cfg.Issuer = "http://" + srv.Listener.Addr().String()
	cfg.CheckResponse = func(r *http.Request, op string, err error) {
		t.Errorf("response of %s does not match the spec: %v", op, err)
	}
	sb, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return &sandboxEnv{sb: sb, url: srv.URL}
}
