package sandboxtest

import (
	"context"
	"net/http/httptest"
	"os"

	"github.com/knogin/argus-sandbox/emulator"
)

// RunInProcess starts the sandbox in this process on an httptest server, for
// machines without Docker: the same emulator the image runs, with the same
// helpers as Run. The context bounds the start only.
func RunInProcess(ctx context.Context, opts ...Option) (*Sandbox, error) {
	st, fx, rules, err := resolve(opts)
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
	cfg := emulator.Config{
		Issuer:        baseURL,
		Logger:        st.logger,
		Seed:          st.seed,
		FaultRules:    rules,
		OperatorToken: st.operatorToken,
		Loopback:      true,
	}
	if st.fixturesDir != "" {
		cfg.Fixtures = os.DirFS(st.fixturesDir)
	}
	sb, err := emulator.New(cfg)
	if err != nil {
		srv.Close()
		return nil, err
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	return &Sandbox{
		baseURL:       baseURL,
		operatorToken: st.operatorToken,
		fixtures:      fx,
		client:        newClient(),
		callbackHost:  "127.0.0.1",
		terminate: func(context.Context) error {
			srv.Close()
			sb.Close()
			return nil
		},
	}, nil
}
