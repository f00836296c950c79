// Command conformance replays webhook scenarios against an integrator's
// consumer and reports whether it is idempotent and retry-tolerant.
//
//	conformance run --target URL --secret whsec_... [--probe URL]
//	conformance run --target URL --secret whsec_... --sandbox URL --client-id ID --client-secret SECRET
//	conformance run --exec "CMD"
//	conformance run ... --sandbox URL --operator-token TOKEN
//	conformance list
//	conformance --help | --version
//
// Exit status: 0 every scenario passed (unverified ones too, unless
// --strict), 1 a scenario failed, 2 a usage or setup error.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/knogin/argus-sandbox/conformance"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("conformance", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	// Help is printed below, on stdout: asking for it is not an error.
	fs.Usage = func() {}
	var (
		target     = fs.String("target", "", "webhook URL of a running consumer")
		secret     = fs.String("secret", "", "signing secret the consumer verifies with (whsec_...; required with --target)")
		execCmd    = fs.String("exec", "", "command that starts the consumer (run with sh -c; see the documented environment)")
		probe      = fs.String("probe", "", "URL of the consumer's probe document")
		path       = fs.String("path", conformance.DefaultWebhookPath, "webhook path of an --exec consumer")
		probePath  = fs.String("probe-path", conformance.DefaultProbePath, "probe path of an --exec consumer (\"\": it serves no probe)")
		sandboxURL = fs.String("sandbox", "", "base URL of a running sandbox to use instead of the embedded one")
		opToken    = fs.String("operator-token", os.Getenv("ARGUS_SANDBOX_OPERATOR_TOKEN"), "control-plane token of the --sandbox (env ARGUS_SANDBOX_OPERATOR_TOKEN)")
		adminToken = fs.String("admin-token", os.Getenv("ARGUS_SANDBOX_ADMIN_TOKEN"), "admin token of an existing tenant on the --sandbox to run in (default: a fresh tenant of the run's own)")
		ctlToken   = fs.String("control-token", os.Getenv("ARGUS_SANDBOX_CONTROL_TOKEN"), "the --tenant's control token: run inside that tenant without the operator token (with --admin-token)")
		clientID   = fs.String("client-id", "", "with --target and --sandbox: the client id of the app the consumer calls back into the sandbox with")
		clientSec  = fs.String("client-secret", os.Getenv("ARGUS_CLIENT_SECRET"), "secret of --client-id (env ARGUS_CLIENT_SECRET)")
		callback   = fs.String("callback-host", envOr("ARGUS_CONFORMANCE_CALLBACK_HOST", "127.0.0.1"), "host of an --exec consumer's webhook URL: the address the sandbox reaches this machine at (env ARGUS_CONFORMANCE_CALLBACK_HOST)")
		listen     = fs.String("listen-host", os.Getenv("ARGUS_CONFORMANCE_LISTEN_HOST"), "address an --exec consumer listens on, $HOST (default: --callback-host; env ARGUS_CONFORMANCE_LISTEN_HOST)")
		dir        = fs.String("scenarios", "", "directory of scenario files (default: the embedded suite)")
		runRE      = fs.String("run", "", "run only scenarios whose name matches this regular expression")
		skipRE     = fs.String("skip", "", "leave out scenarios whose name matches this regular expression (reported as skipped)")
		failFast   = fs.Bool("fail-fast", false, "stop after the first failed scenario")
		scenarioTO = fs.Duration("scenario-timeout", conformance.DefaultScenarioTimeout, "bound on one scenario; past it the scenario fails")
		startTO    = fs.Duration("start-timeout", conformance.DefaultStartTimeout, "how long an --exec consumer may take to listen on its port")
		settleQ    = fs.Duration("settle-quiet", conformance.DefaultSettleQuiet, "a probe without \"pending\" and the write-backs have settled once unchanged this long")
		settleTO   = fs.Duration("settle-timeout", conformance.DefaultSettleTimeout, "bound on waiting for the consumer's observations to settle at each check")
		junit      = fs.String("junit", "", "write a JUnit XML report to this file")
		jsonOut    = fs.String("json", "", "write the JSON report (every delivery) to this file")
		seed       = fs.Int64("seed", 0, "seed for ids and fault probabilities (0: random)")
		tenant     = fs.String("tenant", "acme", "fixture tenant of the run; on a --sandbox, the tenant a fresh one is a copy of")
		strict     = fs.Bool("strict", false, "exit 1 when a scenario is unverified")
		verbose    = fs.Bool("consumer-output", false, "copy the --exec consumer's output to stderr")
	)
	switch {
	case len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help"):
		writeHelp(stdout, fs)
		return 0
	case len(args) > 0 && (args[0] == "version" || args[0] == "--version"):
		fmt.Fprintln(stdout, "conformance", version())
		return 0
	case len(args) == 0 || (args[0] != "run" && args[0] != "list"):
		fmt.Fprintln(stderr, usage+"\n(conformance --help for the flags)")
		return 2
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			writeHelp(stdout, fs)
			return 0
		}
		fmt.Fprintln(stderr, "conformance:", err)
		return 2
	}
	cfg := conformance.Config{Secret: *secret, Run: *runRE, Skip: *skipRE, FailFast: *failFast, ScenarioTimeout: *scenarioTO,
		SettleQuiet: *settleQ, SettleTimeout: *settleTO, Seed: *seed, Tenant: *tenant, CallbackHost: *callback, ListenHost: *listen,
		ClientID: *clientID, Notice: stderr}
	if *clientID != "" {
		cfg.ClientSecret = *clientSec
	}
	if *dir != "" {
		cfg.Scenarios = os.DirFS(*dir)
	}
	if args[0] == "list" {
		return list(cfg, stdout, stderr)
	}
	if *sandboxURL != "" {
		// With the operator token alone the run gets a tenant of its own,
		// deleted at its end; an existing tenant's tokens run inside it.
		cfg.Sandbox = &conformance.RemoteSandbox{URL: *sandboxURL, OperatorToken: *opToken, AdminToken: *adminToken, ControlToken: *ctlToken,
			FreshTenant: *adminToken == "" && *ctlToken == "" && *clientID == ""}
	} else if fs.Changed("operator-token") || fs.Changed("admin-token") || fs.Changed("control-token") {
		fmt.Fprintln(stderr, "conformance: --operator-token, --admin-token and --control-token need --sandbox URL")
		return 2
	}
	switch {
	case *target != "" && *execCmd != "":
		fmt.Fprintln(stderr, "conformance: give --target or --exec, not both")
		return 2
	case *execCmd != "":
		e := &conformance.Exec{Command: *execCmd, WebhookPath: *path, ProbePath: *probePath, Probe: *probe,
			NoProbe: *probePath == "" && *probe == "", StartTimeout: *startTO}
		if *verbose {
			e.Output = stderr
		}
		cfg.Consumer = e
	case *target != "":
		cfg.Consumer = &conformance.Target{URL: *target, Probe: *probe}
	default:
		fmt.Fprintln(stderr, "conformance: no consumer: give --target URL or --exec CMD")
		return 2
	}
	// One line per scenario as it ends, so a CI log shows how far a run
	// got; on a terminal the running scenario is shown too.
	cfg.Progress, cfg.LiveProgress = stderr, isTerminal(stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := conformance.Run(ctx, cfg)
	if rep != nil {
		_ = rep.WriteText(stdout)
		if werr := rep.WriteFiles(*jsonOut, *junit); werr != nil {
			err = errors.Join(err, werr)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "conformance:", describe(err))
		return 2
	}
	_, _, unverified := rep.Counts()
	if rep.Failed() || *strict && unverified > 0 {
		return 1
	}
	return 0
}

// list prints the scenarios --run selects: name, title, category, what
// each detects and what it requires.
func list(cfg conformance.Config, stdout, stderr io.Writer) int {
	ss, err := conformance.Select(cfg.Scenarios, cfg.Run)
	if err != nil {
		fmt.Fprintln(stderr, "conformance:", describe(err))
		return 2
	}
	for _, s := range ss {
		fmt.Fprintf(stdout, "%-28s %s\n", s.Name, s.Title)
		fmt.Fprintf(stdout, "%-28s category: %s\n", "", s.Category)
		fmt.Fprintf(stdout, "%-28s detects: %s\n", "", s.Detects)
		if len(s.Requires) > 0 {
			fmt.Fprintf(stdout, "%-28s requires: %s\n", "", strings.Join(s.Requires, ", "))
		}
	}
	return 0
}

// flags names the flag that sets each conformance.Config field the
// library reports problems with (conformance.FieldError).
var flags = map[string]string{
	"Consumer.URL":          "--target",
	"Consumer.Probe":        "--probe",
	"Consumer.ProbePath":    "--probe-path",
	"Secret":                "--secret",
	"ClientID":              "--client-id",
	"ClientSecret":          "--client-secret",
	"Run":                   "--run",
	"Skip":                  "--skip",
	"ScenarioTimeout":       "--scenario-timeout",
	"Consumer.StartTimeout": "--start-timeout",
	"SettleQuiet":           "--settle-quiet",
	"CallbackHost":          "--callback-host",
	"SettleTimeout":         "--settle-timeout",
	"Sandbox.URL":           "--sandbox",
	"Sandbox.OperatorToken": "--operator-token",
	"Sandbox.AdminToken":    "--admin-token",
	"Sandbox.ControlToken":  "--control-token",
}

// hints follow a problem with a flag where the fix is not obvious.
var hints = map[string]string{
	"--probe-path": ` (a consumer without a probe: --probe-path "")`,
	"--callback-host": "\n(a sandbox in a container reaches this machine at the Docker network's gateway, such as 172.17.0.1," +
		" or at host.docker.internal: give it as --callback-host, and --listen-host 0.0.0.0 if the consumer must listen on every address)",
}

// describe renders a library error for the command line: each
// conformance.FieldError names the flag that sets the field.
func describe(err error) string {
	switch e := err.(type) {
	case *conformance.SetupError:
		return describe(e.Err)
	case *conformance.FieldError:
		if name, ok := flags[e.Field]; ok {
			return name + " " + e.Reason + hints[name]
		}
	case interface{ Unwrap() []error }:
		var lines []string
		for _, e := range e.Unwrap() {
			lines = append(lines, describe(e))
		}
		return strings.Join(lines, "\n")
	}
	return err.Error()
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// isTerminal reports whether w is a character device: only there can a
// progress line be overwritten in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
