// Command sandbox runs the Argus sandbox: an offline emulator of the Argus
// platform's public integration contract.
//
//	sandbox [flags]            serve (see --help)
//	sandbox healthcheck [URL]  exit 0 when the sandbox answers /healthz
//	sandbox trigger|tail|requests|clock|faults …
//	                           drive a running sandbox through its control plane
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/knogin/argus-sandbox/emulator"
)

// Exit codes.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "healthcheck" {
		return healthcheck(ctx, args[1:], stderr)
	}
	if len(args) == 1 && args[0] == "help" {
		args = []string{"--help"}
	}
	if len(args) > 0 {
		if code, ok := runCommand(ctx, args[0], args[1:], cliIO{stdin: os.Stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}); ok {
			return code
		}
	}
	opts, err := parseFlags(args, stdout, stderr)
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return exitUsage
	}
	log := newLogger(opts.logFormat, opts.logLevel, stderr)
	cfg, err := opts.config(log)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return exitUsage
	}
	// Listen first: the issuer and the allowed hosts name the port
	// actually bound.
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return exitRuntime
	}
	opts.bind(&cfg, ln.Addr())
	var tlsCfg *tlsSetup
	if opts.tlsEnabled() {
		tlsCfg, err = opts.setupTLS(tlsNames(opts.addr, cfg.Issuer), time.Now())
		if err != nil {
			ln.Close()
			fmt.Fprintln(stderr, "sandbox:", err)
			return exitUsage
		}
		if tlsCfg.caPath != "" {
			fmt.Fprintf(stdout, "TLS: trust the CA certificate %s\n", tlsCfg.caPath)
		}
		fmt.Fprintf(stdout, "TLS: certificate SHA-256 fingerprint %s\n", tlsCfg.fingerprint)
	}
	if !cfg.Loopback && cfg.OperatorToken == "" {
		cfg.OperatorToken = "op_" + rand.Text()
		fmt.Fprintf(stdout, "operator token for /_sandbox (listening beyond loopback): %s\n", cfg.OperatorToken)
	}
	restoreGC := relaxGC()
	defer restoreGC()
	sb, err := emulator.New(cfg)
	if err != nil {
		opts.nameFaultsFile(err)
		ln.Close()
		fmt.Fprintln(stderr, "sandbox:", err)
		if errors.Is(err, emulator.ErrDatabase) {
			return exitRuntime
		}
		return exitUsage
	}
	if opts.pprofAddr != "" {
		if err := startPprof(ctx, opts.pprofAddr, log); err != nil {
			ln.Close()
			sb.Close()
			fmt.Fprintln(stderr, "sandbox: --pprof:", err)
			return exitRuntime
		}
	}
	// The first requests still build lazily initialised state; restoring
	// the percent at once would start a collection that competes with
	// them for the CPU.
	time.AfterFunc(startWindow, restoreGC)
	serve := emulator.Serve
	if tlsCfg != nil {
		serve = func(ctx context.Context, sb *emulator.Sandbox, ln net.Listener, log *slog.Logger, ready io.Writer) error {
			return emulator.ServeTLS(ctx, sb, ln, tlsCfg.config, log, ready)
		}
	}
	if err := serve(ctx, sb, ln, log, stdout); err != nil {
		fmt.Fprintln(stderr, "sandbox:", err)
		return exitRuntime
	}
	return exitOK
}

// startGCPercent is the collector's percent while the sandbox assembles
// and for startWindow after it listens. Start-up allocates a few MB, most of
// which stays live (routes, fixtures, schemas); with the default percent the
// collector runs twice on the way for little garbage, a noticeable share of
// the start-up time.
const (
	startGCPercent = 800
	startWindow    = time.Second
)

// relaxGC raises the GC percent for start-up (unless GOGC already allows
// more, or turned the collector off) and returns the function that restores
// the process's own setting; it may be called more than once.
func relaxGC() (restore func()) {
	prev := debug.SetGCPercent(startGCPercent)
	if prev < 0 || prev >= startGCPercent {
		debug.SetGCPercent(prev)
		return func() {}
	}
	return sync.OnceFunc(func() { debug.SetGCPercent(prev) })
}

func newLogger(format, level string, w io.Writer) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	o := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}
