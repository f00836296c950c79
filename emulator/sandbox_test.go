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
	srv := httptest.NewUnstartedServer(nil)
	sb, err := emulator.New(emulator.Config{
		Issuer:   "http://" + srv.Listener.Addr().String(),
		Loopback: true,
		CheckResponse: func(r *http.Request, op string, err error) {
			t.Errorf("response of %s does not match the spec: %v", op, err)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return &sandboxEnv{sb: sb, url: srv.URL}
}
