package sandboxtest

import (
	"context"
	"net/http/httptest"

	"github.com/knogin/argus-sandbox/emulator"
)

// RunInProcess starts the sandbox in this process on an httptest server, for
// machines without Docker: the same emulator the image runs, with the same
// helpers as Run. The context bounds the start only.
func RunInProcess(ctx context.Context, opts ...Option) (*Sandbox, error) {
	st, fx, cfg, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The issuer must be the URL clients use, so the listener comes first
	// and the emulator is built for its address.
	srv := httptest.NewUnstartedServer(nil)
	baseURL := "http://" + srv.Listener.Addr().String()
	cfg.Issuer, cfg.Logger, cfg.Seed = baseURL, st.logger, st.seed
	cfg.OperatorToken, cfg.Loopback = st.operatorToken, true
	sb, err := emulator.New(cfg)
	if err != nil {
		srv.Close()
		return nil, err
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	s := newSandbox(baseURL, st.operatorToken, "127.0.0.1", fx)
	s.terminate = func(context.Context) error {
		s.api.HTTPClient().CloseIdleConnections()
		srv.Close()
		sb.Close()
		return nil
	}
	return s, nil
}
