package emulator

import (
	"context"
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
	shutdownGrace     = 5 * time.Second
)

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

// Serve serves sb on ln until ctx is cancelled, then shuts down gracefully.
// ready, when not nil, receives the one-line banner once the listener is
// accepting connections.
func Serve(ctx context.Context, sb *Sandbox, ln net.Listener, log *slog.Logger, ready io.Writer) error {
	srv := NewHTTPServer(sb.Handler(), log)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if ready != nil {
		fmt.Fprintf(ready, "argus-sandbox listening on http://%s\n", ln.Addr())
	}
	select {
	case err := <-errc:
		sb.Close()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	sb.Close()
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return err
}
