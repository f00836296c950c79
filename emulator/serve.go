package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Server timeouts. Webhook tests and slow-drip faults need responses of a
// few seconds; nothing legitimate needs more than WriteTimeout.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

// DefaultShutdownTimeout bounds a graceful shutdown: below the 10 s a
// container runtime (docker stop) waits after SIGTERM before it kills.
const DefaultShutdownTimeout = 8 * time.Second

// NewHTTPServer returns a hardened http.Server for h.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// Serve serves sb on ln until ctx is cancelled, then shuts down gracefully
// within the sandbox's ShutdownTimeout: it stops accepting connections and
// events, answers idle waiters that the sandbox is shutting down, finishes
// the requests in progress and keeps delivering the webhook deliveries
// already accepted; what the timeout leaves is dropped and logged. A clean
// shutdown returns nil, even when the timeout cut it short.
// ready, when not nil, receives the one-line banner once the listener is
// accepting connections.
func Serve(ctx context.Context, sb *Sandbox, ln net.Listener, log *slog.Logger, ready io.Writer) error {
	return serve(ctx, sb, ln, nil, log, ready)
}

// ServeTLS is Serve over TLS with cfg's certificates (HTTP/2 is offered
// through ALPN, as net/http does for ServeTLS); the banner names https.
func ServeTLS(ctx context.Context, sb *Sandbox, ln net.Listener, cfg *tls.Config, log *slog.Logger, ready io.Writer) error {
	if cfg == nil || (len(cfg.Certificates) == 0 && cfg.GetCertificate == nil) {
		return errors.New("serve TLS: no certificate")
	}
	return serve(ctx, sb, ln, cfg, log, ready)
}

func serve(ctx context.Context, sb *Sandbox, ln net.Listener, tlsCfg *tls.Config, log *slog.Logger, ready io.Writer) error {
	srv := NewHTTPServer(sb.Handler(), log)
	errc := make(chan error, 1)
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
		srv.TLSConfig = tlsCfg.Clone()
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	if ready != nil {
		fmt.Fprintf(ready, "argus-sandbox listening on %s://%s\n", scheme, ln.Addr())
	}
	select {
	case err := <-errc:
		sb.Close()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", sb.shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), sb.shutdownTimeout)
	defer cancel()
	// The drain runs beside the HTTP shutdown: it answers idle waiters at
	// once, so their requests end, while a slow request does not hold up
	// the deliveries.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sb.webhooks.Shutdown(sctx)
	}()
	// Open streams last until their clients go: end them, or the
	// shutdown would wait for them until its timeout.
	sb.journal.Close()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("requests still running at the shutdown timeout were cut off", "err", err)
		_ = srv.Close()
	}
	<-drained
	sb.Close()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
