// Command consumer runs the reference Argus webhook consumer. It is
// configured by the environment the conformance runner documents:
//
//	ARGUS_WEBHOOK_SECRET   signing secret (whsec_...), required
//	HOST, PORT             address to listen on (127.0.0.1, 8000); ARGUS_LISTEN_ADDR overrides both
//	ARGUS_STATE_DIR        directory of the durable applied log (./consumer-state)
//	ARGUS_BASE_URL         Argus (or sandbox) base URL, for write-backs
//	ARGUS_CLIENT_ID        client_credentials app of the consumer
//	ARGUS_CLIENT_SECRET
//	ARGUS_CONSUMER_BUG     a deliberate bug (tests of the conformance suite only)
//	ARGUS_CONSUMER_ASYNC   "1": acknowledge once queued durably, apply from the queue
//	ARGUS_CONSUMER_ACK_DELAY  the slow work of the slow_ack bug (20s)
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/knogin/argus-sandbox/examples/consumer"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("consumer stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	bug, err := consumer.ParseBug(os.Getenv("ARGUS_CONSUMER_BUG"))
	if err != nil {
		return err
	}
	var delay time.Duration
	if v := os.Getenv("ARGUS_CONSUMER_ACK_DELAY"); v != "" {
		if delay, err = time.ParseDuration(v); err != nil {
			return fmt.Errorf("ARGUS_CONSUMER_ACK_DELAY: %w", err)
		}
	}
	cfg := consumer.Config{
		Secret: os.Getenv("ARGUS_WEBHOOK_SECRET"), StateDir: envOr("ARGUS_STATE_DIR", "consumer-state"),
		Bug: bug, AckDelay: delay, Async: os.Getenv("ARGUS_CONSUMER_ASYNC") == "1", Logger: log,
	}
	if base := os.Getenv("ARGUS_BASE_URL"); base != "" && os.Getenv("ARGUS_CLIENT_ID") != "" {
		cfg.Argus = &consumer.ArgusClient{BaseURL: base, ClientID: os.Getenv("ARGUS_CLIENT_ID"),
			ClientSecret: os.Getenv("ARGUS_CLIENT_SECRET"), HTTP: &http.Client{Timeout: 10 * time.Second}}
	}
	c, err := consumer.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	addr := envOr("ARGUS_LISTEN_ADDR", net.JoinHostPort(envOr("HOST", "127.0.0.1"), envOr("PORT", "8000")))
	srv := &http.Server{Addr: addr, Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("consumer listening", "addr", addr, "webhook", consumer.WebhookPath, "probe", consumer.ProbePath, "bug", string(bug))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
