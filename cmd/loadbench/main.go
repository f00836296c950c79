// Command loadbench runs the end-to-end benchmark: it builds the sandbox,
// measures cold start, memory and throughput per surface against a bare
// net/http server (and, with --stripe-mock, stripe-mock installed from the
// Go module proxy), and prints one table of ratios plus benchstat lines.
//
//	go run ./cmd/loadbench [--duration 5s] [--concurrency 32] [--stripe-mock] [--image] [--generator auto|go|wrk]
//	go run ./cmd/loadbench --soak 10m
//	go run ./cmd/loadbench --log-cost 5 [--duration 5s]
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/knogin/argus-sandbox/internal/loadbench"
)

// stripeMockModule is the peer measured with --stripe-mock.
const stripeMockModule = "github.com/stripe/stripe-mock@v0.203.0"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) > 1 && os.Args[1] == "bare-server" {
		os.Exit(bareServer(ctx, os.Args[2:]))
	}
	os.Exit(run(ctx, os.Args[1:]))
}

func run(ctx context.Context, args []string) int {
	fs := pflag.NewFlagSet("loadbench", pflag.ContinueOnError)
	duration := fs.Duration("duration", 5*time.Second, "length of each load run")
	conc := fs.Int("concurrency", 32, "concurrent connections of the load generator")
	cold := fs.Int("cold-runs", 11, "start-ups measured per server")
	stripe := fs.Bool("stripe-mock", false, "also measure stripe-mock "+stripeMockModule)
	soak := fs.Duration("soak", 0, "instead of the benchmark, trigger webhook deliveries for this long and print the sandbox's RSS over time")
	gen := fs.String("generator", "auto", "load generator: go, wrk, or auto (wrk when installed)")
	image := fs.Bool("image", false, "also build the container image (scripts/build-image.sh) and report its size")
	logLevel := fs.String("log-level", "error", "the sandbox's --log-level during the benchmark (its stderr goes to /dev/null)")
	logCost := fs.Int("log-cost", 0, "instead of the benchmark, measure the validated REST GET with request lines (--log-level info) against without (warn), this many A/B pairs, and print the median cost")
	stores := fs.StringSlice("store", []string{"memory"}, "stores to measure, comma-separated: memory (always measured, the reference), sqlite (a data directory of the run's own), postgres (--database-url); the figures of a durable store are compared with memory's")
	databaseURL := fs.String("database-url", os.Getenv("ARGUS_SANDBOX_DATABASE_URL"), "PostgreSQL database of --store postgres (env ARGUS_SANDBOX_DATABASE_URL); the benchmark adds apps to it")
	suite := fs.Bool("suite", true, "also time the default conformance suite")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, st := range *stores {
		switch st {
		case "memory", "sqlite":
		case "postgres":
			if *databaseURL == "" {
				fmt.Fprintln(os.Stderr, "loadbench: --store postgres needs --database-url (or ARGUS_SANDBOX_DATABASE_URL)")
				return 2
			}
		default:
			fmt.Fprintf(os.Stderr, "loadbench: --store %q: must be memory, sqlite or postgres\n", st)
			return 2
		}
	}
	dir, err := os.MkdirTemp("", "loadbench")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	sandbox := filepath.Join(dir, "sandbox")
	fmt.Fprintln(os.Stderr, "building the sandbox")
	if err := goCmd(dir, "build", "-o", sandbox, "./cmd/sandbox"); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		return 1
	}
	self, _ := os.Executable()
	cfg := loadbench.Config{Sandbox: sandbox, Self: self, Duration: *duration, Concurrency: *conc, ColdRuns: *cold, LogLevel: *logLevel, Log: os.Stderr,
		Stores: *stores, DatabaseURL: *databaseURL}
	switch *gen {
	case "auto":
		cfg.Wrk = loadbench.WrkPath()
	case "wrk":
		if cfg.Wrk = loadbench.WrkPath(); cfg.Wrk == "" {
			fmt.Fprintln(os.Stderr, "loadbench: --generator wrk: wrk is not on PATH (apt-get install wrk)")
			return 2
		}
	case "go":
	default:
		fmt.Fprintf(os.Stderr, "loadbench: --generator %q: must be go, wrk or auto\n", *gen)
		return 2
	}
	generator := "go"
	if cfg.Wrk != "" {
		generator = "wrk"
	}
	if *soak > 0 {
		fmt.Fprintf(os.Stderr, "soak: %s with the %s generator\n", *soak, generator)
		samples, err := loadbench.Soak(ctx, cfg, *soak, max(time.Second, *soak/20), os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench: soak:", err)
			return 1
		}
		first, last := samples[0], samples[len(samples)-1]
		fmt.Printf("soak: %d deliveries, RSS %.1f MB at %s, %.1f MB at the end\n", last.Delivered,
			float64(first.RSS)/(1<<20), first.Elapsed, float64(last.RSS)/(1<<20))
		return 0
	}
	if *logCost > 0 {
		return runLogCost(ctx, cfg, *logCost, generator)
	}
	if *stripe {
		fmt.Fprintln(os.Stderr, "installing", stripeMockModule)
		if err := goCmd(dir, "install", stripeMockModule); err != nil {
			fmt.Fprintln(os.Stderr, "stripe-mock:", err)
			return 1
		}
		cfg.StripeMock = filepath.Join(dir, "stripe-mock")
	}
	figs, err := loadbench.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		return 1
	}
	if *suite || *image {
		more, err := suiteAndImage(ctx, dir, *suite, *image)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadbench:", err)
			return 1
		}
		figs = append(figs, more...)
	}
	meta := append(loadbench.Machine(), "generator: "+generator, fmt.Sprintf("concurrency: %d", *conc), "duration: "+duration.String())
	loadbench.Report(os.Stdout, meta, figs)
	return 0
}

// runLogCost prints each info/warn pair of the request-logging comparison
// and the median cost.
func runLogCost(ctx context.Context, cfg loadbench.Config, pairs int, generator string) int {
	fmt.Fprintf(os.Stderr, "log cost: %d pairs of validated REST GET, info then warn, %s each, %d connections, %s\n",
		pairs, cfg.Duration, cfg.Concurrency, generator)
	res, err := loadbench.LogCost(ctx, cfg, pairs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadbench: log cost:", err)
		return 1
	}
	for _, m := range append(loadbench.Machine(), "generator: "+generator, fmt.Sprintf("concurrency: %d", cfg.Concurrency), "duration: "+cfg.Duration.String()) {
		fmt.Println(m)
	}
	for _, p := range res {
		fmt.Printf("BenchmarkE2E/metric=rest-get/target=sandbox/log=info 1 %.0f req/s %d cpu-ns/req\n", p.Info.RPS(), p.InfoCPU.Nanoseconds())
		fmt.Printf("BenchmarkE2E/metric=rest-get/target=sandbox/log=warn 1 %.0f req/s %d cpu-ns/req\n", p.Warn.RPS(), p.WarnCPU.Nanoseconds())
	}
	for i, p := range res {
		fmt.Printf("pair %d: info %.0f req/s, warn %.0f req/s, info/warn %.3f, cost %.1f %%; sandbox CPU per request %s vs %s, +%.1f %%\n",
			i+1, p.Info.RPS(), p.Warn.RPS(), 1-p.Cost(), 100*p.Cost(), p.InfoCPU, p.WarnCPU, 100*p.CPUCost())
	}
	fmt.Printf("request logging at info costs %.1f %% of the validated REST GET throughput, +%.1f %% sandbox CPU per request (medians of %d pairs)\n",
		100*loadbench.MedianCost(res, loadbench.LogPair.Cost), 100*loadbench.MedianCost(res, loadbench.LogPair.CPUCost), len(res))
	return 0
}

// suiteAndImage times the default conformance suite against the reference
// consumer and, when asked, builds the container image and reports its size.
func suiteAndImage(ctx context.Context, dir string, suite, image bool) ([]loadbench.Figure, error) {
	var figs []loadbench.Figure
	if suite {
		f, err := conformanceSuite(ctx, dir)
		if err != nil {
			return nil, err
		}
		figs = append(figs, f)
	}
	if !image {
		return figs, nil
	}
	fmt.Fprintln(os.Stderr, "container image: scripts/build-image.sh")
	cmd := exec.CommandContext(ctx, "scripts/build-image.sh")
	cmd.Stderr = os.Stderr
	ref, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	size, err := loadbench.ImageSize(ctx, strings.TrimSpace(string(ref)))
	if err != nil {
		return nil, err
	}
	return append(figs, size), nil
}

// conformanceSuite times the default suite against the reference consumer.
func conformanceSuite(ctx context.Context, dir string) (loadbench.Figure, error) {
	conf, cons := filepath.Join(dir, "conformance"), filepath.Join(dir, "consumer")
	fmt.Fprintln(os.Stderr, "conformance suite: building the runner and the reference consumer")
	if err := goCmd(dir, "build", "-o", conf, "./cmd/conformance"); err != nil {
		return loadbench.Figure{}, fmt.Errorf("build conformance: %w", err)
	}
	if err := goCmd(dir, "build", "-o", cons, "./examples/consumer/cmd/consumer"); err != nil {
		return loadbench.Figure{}, fmt.Errorf("build consumer: %w", err)
	}
	fmt.Fprintln(os.Stderr, "conformance suite: default suite, reference consumer (5 runs)")
	return loadbench.ConformanceSuite(ctx, conf, cons, 5)
}

func goCmd(gobin string, args ...string) error {
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	return cmd.Run()
}

func bareServer(ctx context.Context, args []string) int {
	fs := pflag.NewFlagSet("bare-server", pflag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: loadbench.BareHandler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	_ = srv.Serve(ln)
	return 0
}
