package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strings"
	"time"
)

// startPprof serves the runtime profiles (net/http/pprof) on their own
// listener, so they are never reachable through the contract's router and
// can stay bound to loopback while the API listens more widely. It stops
// when ctx is cancelled.
func startPprof(ctx context.Context, addr string, log *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// An own mux rather than http.DefaultServeMux: nothing else leaks in.
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No WriteTimeout: CPU profiles and traces stream for their ?seconds=.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("pprof listener stopped", "err", err)
		}
	}()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	log.Info("pprof listening", "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return nil
}

// cmdline replaces pprof.Cmdline: the same NUL-separated arguments, with
// the values of secretFlags redacted, since anyone who reaches the profiles
// would otherwise read the operator token.
func cmdline(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(strings.Join(redactArgs(os.Args), "\x00")))
}

// redactArgs returns a copy of a command line with the values of
// secretFlags, given as --name value or --name=value, replaced.
func redactArgs(args []string) []string {
	const redacted = "REDACTED"
	out := append([]string(nil), args...)
	for i := 1; i < len(out); i++ {
		if out[i] == "--" {
			break // the rest are not flags
		}
		for _, name := range secretFlags {
			switch {
			case out[i] == "--"+name && i+1 < len(out):
				i++
				out[i] = redacted
			case strings.HasPrefix(out[i], "--"+name+"="):
				out[i] = "--" + name + "=" + redacted
			}
		}
	}
	return out
}
