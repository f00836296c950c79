package conformance

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/knogin/argus-sandbox/emulator"
)

// localAttemptTimeout is the attempt timeout of the sandbox a run starts
// itself: consumer-timeout-retry waits it out in real time, and Argus's
// 15 s would make that one scenario most of the suite's time. The
// scenarios expect answers within 2 s (single-delivery), so a consumer
// that passes them answers well within 1 s. A --sandbox keeps its own
// (15 s by default).
const localAttemptTimeout = time.Second

// startLocal starts a sandbox in this process for a run without
// Config.Sandbox, on a loopback port of host (127.0.0.1 unless the
// consumer must reach it elsewhere), so the consumer can call back into
// it. It returns the sandbox's base URL and what stops it; the runner
// drives it over HTTP like any RemoteSandbox.
func startLocal(seed int64, host string, log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", nil, err
	}
	base := "http://" + ln.Addr().String()
	sb, err := emulator.New(emulator.Config{Issuer: base, Loopback: true, Seed: seed, Logger: log,
		WebhookAttemptTimeout: localAttemptTimeout})
	if err != nil {
		_ = ln.Close()
		return "", nil, err
	}
	srv := &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		sb.Close()
	}
	return base, stop, nil
}
