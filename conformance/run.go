package conformance

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"time"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/scenarios"
)

// Config configures a run. Consumer is required; every other zero value
// is a working default.
type Config struct {
	// Consumer is the consumer under test.
	Consumer Consumer
	// Secret is the signing secret the consumer verifies with; "" draws
	// one (the consumer learns it from Env, so only with Exec/InProcess).
	Secret string
	// Scenarios overrides the embedded suite (a directory of files).
	Scenarios fs.FS
	// Run selects scenarios whose name matches this regular expression.
	Run string
	// Skip leaves out the selected scenarios whose name matches this
	// regular expression: they are reported as skipped, not run.
	Skip string
	// FailFast stops the run after the first failed scenario; the report
	// counts the scenarios it did not reach (Report.NotRun).
	FailFast bool
	// ClientID and ClientSecret are the consumer's own app on Sandbox, for
	// a Target: the app it calls back into the sandbox with. Without them
	// a Target's callbacks cannot be observed, and scenarios that need
	// them are unverified.
	ClientID     string
	ClientSecret string
	// Notice, when set, receives what the person running a Target must
	// know before the run: the sandbox's base URL and the client
	// credentials the consumer must use.
	Notice io.Writer
	// Tenant is the fixture tenant the run uses ("acme").
	Tenant string
	// Seed makes the embedded sandbox's ids and fault probabilities
	// reproducible (0: random).
	Seed int64
	// Sandbox, when set, is an already running sandbox the run drives over
	// HTTP instead of starting an embedded one.
	Sandbox *RemoteSandbox
	// CallbackHost is the host of the webhook URL the sandbox delivers to
	// a consumer the runner starts (Exec, InProcess): the address the
	// sandbox reaches this machine at. 127.0.0.1 unless a remote sandbox
	// reaches it elsewhere (from a container, the Docker network gateway or
	// host.docker.internal).
	CallbackHost string
	// ListenHost is the address such a consumer listens on ($HOST):
	// CallbackHost when "", or an address that leads there, such as
	// 0.0.0.0 when CallbackHost is a name only the container resolves.
	ListenHost string
	// StateDir is given to the consumer (a temporary directory when "").
	StateDir string
	// ScenarioTimeout bounds one scenario (DefaultScenarioTimeout when
	// zero); a scenario past it fails, its reason naming the bound.
	ScenarioTimeout time.Duration
	// SettleQuiet and SettleTimeout say when the consumer's observations
	// (its probe, its write-backs) have settled at a check point: the probe
	// reports "pending": 0, or nothing changed for SettleQuiet; at most
	// SettleTimeout after the deliveries went idle (DefaultSettleQuiet and
	// DefaultSettleTimeout when zero). A consumer that acknowledges first
	// and applies from a queue is judged once it has applied.
	SettleQuiet   time.Duration
	SettleTimeout time.Duration
	// Progress, when set, receives one line per scenario as it ends.
	Progress io.Writer
	// LiveProgress says Progress is a terminal: the running scenario is
	// shown and its line is overwritten with the verdict.
	LiveProgress bool
	// OnResult, when set, is called with each scenario's result as it ends
	// (skipped ones included), on the goroutine that called Run.
	OnResult func(Result)
	Logger   *slog.Logger
}

// Defaults of the run's time bounds.
const (
	// DefaultScenarioTimeout bounds one scenario: the slowest of the
	// default suite takes about a second against the embedded sandbox, 15 s
	// against a running one.
	DefaultScenarioTimeout = 2 * time.Minute
	// DefaultStartTimeout bounds how long an Exec consumer may take to
	// listen on its port, at the start and after each restart.
	DefaultStartTimeout = 10 * time.Second
)

// FieldError is a problem with one field of Config, named by its Go path
// ("Secret", "Sandbox.OperatorToken", "Consumer.URL"), so that a command
// can name the flag that sets it instead. Its message reads "Field
// reason".
type FieldError struct {
	Field  string
	Reason string
}

// Error reads "Sandbox.OperatorToken does not open the sandbox's control
// plane: …".
func (e *FieldError) Error() string { return e.Field + " " + e.Reason }

// validate reports every problem of cfg together.
func (cfg *Config) validate() error {
	var errs []error
	invalid := func(field, reason string) { errs = append(errs, &FieldError{Field: field, Reason: reason}) }
	t, isTarget := cfg.Consumer.(*Target)
	if cfg.Consumer == nil {
		invalid("Consumer", "is required: the consumer under test (a Target, an Exec or an InProcess)")
	}
	if isTarget {
		if cfg.Secret == "" {
			invalid("Secret", "is required with a Target: the signing secret the consumer verifies with")
		}
		if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			invalid("Consumer.URL", fmt.Sprintf("%q is not the consumer's webhook URL, such as http://127.0.0.1:3000/webhooks/argus", t.URL))
		}
	}
	if cfg.Secret != "" {
		if _, err := client.WebhookSecretKey(cfg.Secret); err != nil {
			invalid("Secret", "is invalid: "+err.Error())
		}
	}
	switch {
	case cfg.ClientID != "" && cfg.ClientSecret == "":
		invalid("ClientSecret", "is required with a client id")
	case cfg.ClientID == "" && cfg.ClientSecret != "":
		invalid("ClientID", "is required with a client secret")
	case cfg.ClientID != "" && !isTarget:
		invalid("ClientID", "is only for a Target: the runner registers the app of a consumer it starts")
	case cfg.ClientID != "" && cfg.Sandbox == nil:
		invalid("ClientID", "needs a running sandbox to drive: the consumer's app lives on the sandbox it was configured with, not on one the runner starts")
	}
	if cfg.Sandbox != nil && cfg.Sandbox.URL == "" {
		invalid("Sandbox.URL", "is required: the base URL of a running sandbox")
	}
	if rs := cfg.Sandbox; rs != nil && rs.FreshTenant {
		switch {
		case rs.ControlToken != "":
			invalid("Sandbox.ControlToken", "runs inside an existing tenant; a fresh tenant is created with the operator token")
		case rs.AdminToken != "":
			invalid("Sandbox.AdminToken", "is of an existing tenant; a fresh tenant comes with its own")
		case cfg.ClientID != "":
			invalid("ClientID", "is an app of an existing tenant; a fresh tenant has none")
		}
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{{"ScenarioTimeout", cfg.ScenarioTimeout}, {"SettleQuiet", cfg.SettleQuiet}, {"SettleTimeout", cfg.SettleTimeout}} {
		if d.d < 0 {
			invalid(d.field, "is negative")
		}
	}
	if e, ok := cfg.Consumer.(*Exec); ok && e.StartTimeout < 0 {
		invalid("Consumer.StartTimeout", "is negative")
	}
	for _, re := range []struct{ field, expr string }{{"Run", cfg.Run}, {"Skip", cfg.Skip}} {
		if _, err := regexp.Compile(re.expr); err != nil {
			invalid(re.field, "is not a regular expression: "+err.Error())
		}
	}
	return errors.Join(errs...)
}

// SetupError is a problem with the configuration, the scenarios or the
// environment (exit code 2), as opposed to a consumer failing scenarios.
type SetupError struct{ Err error }

func (e *SetupError) Error() string { return e.Err.Error() }
func (e *SetupError) Unwrap() error { return e.Err }

// Run loads the scenarios, starts an embedded sandbox (or connects to
// cfg.Sandbox) and the consumer,
// runs every selected scenario in order and returns the report. An error
// is always a *SetupError; consumer failures are in the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, &SetupError{err}
	}
	if cfg.Tenant == "" {
		cfg.Tenant = "acme"
	}
	if cfg.ScenarioTimeout == 0 {
		cfg.ScenarioTimeout = DefaultScenarioTimeout
	}
	if cfg.SettleQuiet == 0 {
		cfg.SettleQuiet = DefaultSettleQuiet
	}
	if cfg.SettleTimeout == 0 {
		cfg.SettleTimeout = DefaultSettleTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CallbackHost == "" {
		cfg.CallbackHost = "127.0.0.1"
	}
	if cfg.ListenHost == "" {
		cfg.ListenHost = cfg.CallbackHost
	}
	selected, err := Select(cfg.Scenarios, cfg.Run)
	if err != nil {
		return nil, &SetupError{err}
	}
	if cfg.Secret == "" {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		cfg.Secret = client.WebhookSecretPrefix + base64.StdEncoding.EncodeToString(key)
	}
	if cfg.StateDir == "" {
		dir, err := os.MkdirTemp("", "argus-conformance-")
		if err != nil {
			return nil, &SetupError{err}
		}
		defer os.RemoveAll(dir)
		cfg.StateDir = dir
	}

	start := time.Now()
	sb, err := startSandbox(ctx, cfg)
	if err != nil {
		return nil, &SetupError{err}
	}
	defer sb.Close()
	// The run's own tenant goes after its apps, before the connections
	// close.
	defer func() {
		if err := sb.dropTenant(); err != nil {
			cfg.Logger.Warn("conformance: deleting the run's tenant", "tenant", sb.tenant, "err", err)
		}
	}()
	// Runs after the consumer stopped, before the run's tenant goes and
	// the sandbox closes.
	defer func() {
		if err := sb.deleteApps(); err != nil {
			cfg.Logger.Warn("conformance: deleting the run's apps", "err", err)
		}
	}()
	app, noCallback, err := consumerApp(ctx, cfg, sb)
	if err != nil {
		return nil, &SetupError{err}
	}
	if err := sb.setupObserver(ctx); err != nil {
		return nil, &SetupError{err}
	}
	ep, err := cfg.Consumer.Start(ctx, Env{Secret: cfg.Secret, BaseURL: sb.url, ClientID: app.ClientID,
		ClientSecret: app.ClientSecret, Tenant: sb.tenant, StateDir: cfg.StateDir, Host: cfg.ListenHost, CallbackHost: cfg.CallbackHost})
	if err != nil {
		return nil, &SetupError{fmt.Errorf("start consumer: %w", err)}
	}
	defer func() { _ = cfg.Consumer.Stop() }()
	// A consumer the sandbox cannot reach would fail every scenario: the
	// run stops before any, saying which address to change.
	if err := sb.reach(ctx, ep.URL, cfg.Secret); err != nil {
		return nil, &SetupError{reachError(cfg, err)}
	}
	if ep.ProbeURL != "" {
		// A wrong probe URL would turn every probe check into unverified
		// and the run green: it is a setup error, found before any scenario.
		if _, err := fetchProbe(ctx, ep.ProbeURL); err != nil {
			return nil, &SetupError{&FieldError{Field: probeField(cfg.Consumer), Reason: "does not lead to the consumer's probe: " + err.Error()}}
		}
	}

	r := &runner{cfg: cfg, sb: sb, ep: ep, app: app, noCallback: noCallback}
	rep := &Report{Target: ep.URL, Sandbox: sb.url, ClientID: app.ClientID, Started: start.UTC()}
	var skip *regexp.Regexp
	if cfg.Skip != "" {
		skip = regexp.MustCompile(cfg.Skip) // validated above
	}
	for i, s := range selected {
		if skip != nil && skip.MatchString(s.Name) {
			rep.Scenarios = append(rep.Scenarios, Result{Name: s.Name, Title: s.Title, Detects: s.Detects, Why: s.Why, Category: s.Category,
				Status: StatusSkipped, Reason: fmt.Sprintf("its name matches the skip pattern %q; not run", cfg.Skip)})
			if cfg.Progress != nil {
				fmt.Fprintf(cfg.Progress, "[%d/%d] %-28s %s\n", i+1, len(selected), s.Name, StatusSkipped)
			}
			if cfg.OnResult != nil {
				cfg.OnResult(rep.Scenarios[len(rep.Scenarios)-1])
			}
			continue
		}
		if cfg.Progress != nil && cfg.LiveProgress {
			fmt.Fprintf(cfg.Progress, "[%d/%d] %-28s running…", i+1, len(selected), s.Name)
		}
		res, setupErr := r.run(ctx, s)
		rep.Scenarios = append(rep.Scenarios, res)
		if cfg.Progress != nil {
			if cfg.LiveProgress {
				fmt.Fprint(cfg.Progress, "\r\033[K") // back to the line start, erase it
			}
			fmt.Fprintf(cfg.Progress, "[%d/%d] %-28s %s (%s)\n", i+1, len(selected), s.Name, res.Status, roundDuration(res.Duration))
		}
		if cfg.OnResult != nil {
			cfg.OnResult(res)
		}
		if setupErr != nil {
			rep.Duration = time.Since(start)
			return rep, &SetupError{fmt.Errorf("scenario %s: %w", s.Name, setupErr)}
		}
		if err := ctx.Err(); err != nil {
			return rep, &SetupError{err}
		}
		if cfg.FailFast && res.Status == StatusFail {
			rep.NotRun = len(selected) - i - 1
			break
		}
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// consumerApp returns the app the consumer calls back into the sandbox
// with, and why its callbacks cannot be observed ("" when they can). A
// consumer the runner starts gets a new app; a Target uses its own
// (Config.ClientID), or none: it was configured before the run and cannot
// know the app or the URL of a sandbox the runner starts.
func consumerApp(ctx context.Context, cfg Config, sb *sandbox) (client.Credentials, string, error) {
	if _, ok := cfg.Consumer.(*Target); !ok {
		app, err := sb.registerApp(ctx, "Conformance consumer", []string{"cases:read", "cases:write"})
		return app, "", err
	}
	if cfg.ClientID != "" {
		app := client.Credentials{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret}
		if cfg.Notice != nil {
			fmt.Fprintf(cfg.Notice, "conformance: the consumer must call back into the sandbox at %s as client %s\n", sb.url, app.ClientID)
		}
		return app, "", nil
	}
	const reason = "needs the consumer's calls back into the sandbox, which a --target run cannot see without --sandbox URL and the consumer's own --client-id/--client-secret"
	if cfg.Notice != nil {
		fmt.Fprintf(cfg.Notice, "conformance: sandbox at %s; the --target consumer was not configured with it, so scenarios that need its calls back are unverified (give --sandbox URL --client-id ID --client-secret SECRET)\n", sb.url)
	}
	return client.Credentials{}, reason, nil
}

// LoadSuite loads the scenarios of fsys, or the embedded default suite
// when fsys is nil.
func LoadSuite(fsys fs.FS) ([]*Scenario, error) {
	if fsys == nil {
		fsys = scenarios.Default()
	}
	return Load(fsys)
}

// Select loads the suite of fsys (the embedded one when nil) and keeps the
// scenarios whose name matches the regular expression run ("": all). A
// run that selects nothing is an error.
func Select(fsys fs.FS, run string) ([]*Scenario, error) {
	all, err := LoadSuite(fsys)
	if err != nil || run == "" {
		return all, err
	}
	re, err := regexp.Compile(run)
	if err != nil {
		return nil, &FieldError{Field: "Run", Reason: "is not a regular expression: " + err.Error()}
	}
	var selected []*Scenario
	for _, s := range all {
		if re.MatchString(s.Name) {
			selected = append(selected, s)
		}
	}
	if len(selected) == 0 {
		return nil, &FieldError{Field: "Run", Reason: fmt.Sprintf("%q selects no scenario", run)}
	}
	return selected, nil
}

// startSandbox connects to cfg.Sandbox, or starts a sandbox in this
// process and connects to it the same way.
func startSandbox(ctx context.Context, cfg Config) (*sandbox, error) {
	if cfg.Sandbox != nil {
		return connect(ctx, *cfg.Sandbox, cfg.Tenant)
	}
	url, stop, err := startLocal(cfg.Seed, cfg.CallbackHost, cfg.Logger)
	if err != nil {
		return nil, err
	}
	sb, err := connect(ctx, RemoteSandbox{URL: url}, cfg.Tenant)
	if err != nil {
		stop()
		return nil, err
	}
	sb.stop = stop
	return sb, nil
}

// probeField names the field that set a consumer's probe URL.
func probeField(c Consumer) string {
	switch c := c.(type) {
	case *Target:
		return "Consumer.Probe"
	case *Exec:
		if c.Probe != "" {
			return "Consumer.Probe"
		}
	}
	return "Consumer.ProbePath"
}
