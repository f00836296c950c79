package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/emulator/control"
	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/emulator/oauth"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

var errHelp = errors.New("help requested")

// options are the command-line flags; every flag can also be set by an
// ARGUS_SANDBOX_* environment variable (flags win), which is how the
// container image is configured.
type options struct {
	addr      string
	issuer    string
	fixtures  string
	specs     string
	logFormat string
	logLevel  string
	seed      int64

	signingAlg    string
	keyRotation   time.Duration
	localTargets  bool
	operatorToken string
	faultsFile    string
	pprofAddr     string
	requirePKCE   bool

	allowedHosts     []string
	pprofAllowRemote bool
	shutdownTimeout  time.Duration

	tls     bool
	tlsDir  string
	tlsCert string
	tlsKey  string

	dataDir         string
	databaseURL     string
	databaseTimeout time.Duration
	deliveryLease   time.Duration
}

// secretFlags are the flags whose values never leave the process: their
// environment variables are not shown as defaults in the usage text, and
// /debug/pprof/cmdline shows them redacted.
var secretFlags = []string{"operator-token", "database-url"}

func parseFlags(args []string, stdout, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := pflag.NewFlagSet("sandbox", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", env("ADDR", "127.0.0.1:8080"), "listen address (env ARGUS_SANDBOX_ADDR)")
	fs.StringVar(&o.issuer, "issuer", env("ISSUER", ""), "public base URL, used as token issuer (default http://ADDR)")
	fs.StringVar(&o.fixtures, "fixtures", env("FIXTURES", ""), "directory of fixture files overriding the embedded ones")
	fs.StringVar(&o.specs, "specs", env("SPECS", ""), "directory of spec files overriding the embedded ones")
	fs.StringVar(&o.logFormat, "log-format", env("LOG_FORMAT", "text"), "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", env("LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	fs.Int64Var(&o.seed, "seed", envInt("SEED"), "seed for IDs, secrets, retry jitter and fault probabilities (0: random)")
	fs.StringVar(&o.signingAlg, "signing-alg", env("SIGNING_ALG", oauth.DefaultSigningAlg), "access-token signing algorithm: "+strings.Join(oauth.SigningAlgs, ", "))
	fs.DurationVar(&o.keyRotation, "key-rotation", envDuration("KEY_ROTATION"), "rotate the signing key on this period (0: only on demand)")
	fs.BoolVar(&o.localTargets, "allow-local-webhook-targets", env("ALLOW_LOCAL_WEBHOOK_TARGETS", "true") == "true", "allow webhook URLs on loopback and private addresses (turn off on shared deployments)")
	fs.StringVar(&o.operatorToken, "operator-token", "", "bearer token for /_sandbox (required off loopback; generated and printed when empty); prefer env ARGUS_SANDBOX_OPERATOR_TOKEN: a command line is visible to every local user")
	fs.BoolVar(&o.requirePKCE, "require-pkce", env("REQUIRE_PKCE", "false") == "true", "refuse authorization requests without a PKCE code_challenge, as OAuth 2.1 does (env ARGUS_SANDBOX_REQUIRE_PKCE)")
	fs.StringVar(&o.faultsFile, "faults", env("FAULTS", ""), "YAML or JSON file of fault rules loaded at start")
	fs.StringVar(&o.pprofAddr, "pprof", env("PPROF", ""), "serve net/http/pprof on this separate address, e.g. 127.0.0.1:6060 (off when empty)")
	fs.BoolVar(&o.pprofAllowRemote, "pprof-allow-remote", env("PPROF_ALLOW_REMOTE", "false") == "true", "let --pprof listen beyond loopback (the profiles have no authentication)")
	fs.StringSliceVar(&o.allowedHosts, "allowed-hosts", envList("ALLOWED_HOSTS"), "further Host header values answered, comma-separated: host (any port) or host:port; * answers every host (on a loopback --addr only localhost, 127.0.0.1, [::1] and the issuer's host are answered; beyond loopback every host unless this is set)")
	fs.BoolVar(&o.tls, "tls", env("TLS", "false") == "true", "serve HTTPS with a certificate issued at start for the bound names by a local CA kept in --tls-dir (env ARGUS_SANDBOX_TLS)")
	fs.StringVar(&o.tlsDir, "tls-dir", env("TLS_DIR", defaultTLSDir()), "where --tls keeps ca.pem (reused across restarts) and the issued cert.pem/key.pem (env ARGUS_SANDBOX_TLS_DIR)")
	fs.StringVar(&o.tlsCert, "tls-cert", env("TLS_CERT", ""), "serve HTTPS with this PEM certificate (chain); needs --tls-key (env ARGUS_SANDBOX_TLS_CERT)")
	fs.StringVar(&o.tlsKey, "tls-key", env("TLS_KEY", ""), "the PEM private key of --tls-cert (env ARGUS_SANDBOX_TLS_KEY)")
	fs.StringVar(&o.dataDir, "data-dir", env("DATA_DIR", ""), "keep the sandbox's state in an SQLite database in this directory, across restarts (env ARGUS_SANDBOX_DATA_DIR; default: in memory)")
	databaseTimeout := 10 * time.Second
	if d := envDuration("DATABASE_TIMEOUT"); d != 0 {
		databaseTimeout = d
	}
	fs.DurationVar(&o.databaseTimeout, "database-timeout", databaseTimeout, "how long to wait at start for an unreachable database before exiting (env ARGUS_SANDBOX_DATABASE_TIMEOUT)")
	deliveryLease := webhooks.DefaultLease
	if d := envDuration("DELIVERY_LEASE"); d != 0 {
		deliveryLease = d
	}
	fs.DurationVar(&o.deliveryLease, "delivery-lease", deliveryLease, "with --data-dir or --database-url, how long a webhook delivery this process holds stays its own without its heartbeat: after a crash, another process (or the restart) makes its attempts after at most this long (env ARGUS_SANDBOX_DELIVERY_LEASE)")
	fs.StringVar(&o.databaseURL, "database-url", "", "keep the sandbox's state in this PostgreSQL database (postgres://...); sandboxes on one database are one sandbox (env ARGUS_SANDBOX_DATABASE_URL, which other local users cannot read as they can a command line)")
	shutdownTimeout := emulator.DefaultShutdownTimeout
	if d := envDuration("SHUTDOWN_TIMEOUT"); d != 0 {
		shutdownTimeout = d
	}
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", shutdownTimeout, "on SIGTERM, how long to finish requests and send queued webhook deliveries before dropping them (env ARGUS_SANDBOX_SHUTDOWN_TIMEOUT)")
	// --help goes to stdout (a requested answer, not a complaint).
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: sandbox [flags]            serve\n       sandbox COMMAND [flags]    drive a running sandbox\n\n%s\nFlags:\n%s", commandsUsage(), fs.FlagUsages())
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil, errHelp
		}
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (commands: %s)", fs.Arg(0), strings.Join(commandNames(), ", "))
	}
	// Secrets come from the environment only now, so that the usage text
	// never shows them as defaults.
	for _, name := range secretFlags {
		if v, ok := os.LookupEnv(envName(name)); ok && !fs.Changed(name) {
			_ = fs.Set(name, v)
		}
	}
	return o, nil
}

// envName is the environment variable of a flag: operator-token →
// ARGUS_SANDBOX_OPERATOR_TOKEN.
func envName(flag string) string {
	return "ARGUS_SANDBOX_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// envList splits a comma-separated variable; nil when unset or empty.
func envList(name string) []string {
	var list []string
	for v := range strings.SplitSeq(env(name, ""), ",") {
		if v = strings.TrimSpace(v); v != "" {
			list = append(list, v)
		}
	}
	return list
}

func envInt(name string) int64 {
	n, _ := strconv.ParseInt(env(name, "0"), 10, 64)
	return n
}

func envDuration(name string) time.Duration {
	d, _ := time.ParseDuration(env(name, "0s"))
	return d
}

func env(name, def string) string {
	if v, ok := os.LookupEnv("ARGUS_SANDBOX_" + name); ok {
		return v
	}
	return def
}

// config validates every option together and builds the emulator config.
func (o *options) config(log *slog.Logger) (emulator.Config, error) {
	var errs []error
	if _, port, err := net.SplitHostPort(o.addr); err != nil {
		errs = append(errs, fmt.Errorf("--addr %q: %w", o.addr, err))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		errs = append(errs, fmt.Errorf("--addr %q: port must be a number from 0 to 65535", o.addr))
	}
	if o.pprofAddr != "" {
		if _, _, err := net.SplitHostPort(o.pprofAddr); err != nil {
			errs = append(errs, fmt.Errorf("--pprof %q: %w", o.pprofAddr, err))
		} else if !o.pprofAllowRemote && !control.LoopbackAddr(o.pprofAddr) {
			errs = append(errs, fmt.Errorf("--pprof %q: not a loopback address; the profiles have no authentication and show the process's memory use and command line (add --pprof-allow-remote to serve them there anyway)", o.pprofAddr))
		}
	}
	if err := emulator.CheckAllowedHosts(o.allowedHosts); err != nil {
		errs = append(errs, fmt.Errorf("--allowed-hosts: %w", err))
	}
	if o.shutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--shutdown-timeout %s: must be positive", o.shutdownTimeout))
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: must be text or json", o.logFormat))
	}
	if u, err := url.Parse(o.issuer); o.issuer != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" && u.Path != "/") {
		errs = append(errs, fmt.Errorf("--issuer %q: must be an absolute http(s) URL without a path", o.issuer))
	}
	errs = append(errs, o.checkTLS()...)
	if !slices.Contains(oauth.SigningAlgs, o.signingAlg) {
		errs = append(errs, fmt.Errorf("--signing-alg %q: must be one of %s", o.signingAlg, strings.Join(oauth.SigningAlgs, ", ")))
	}
	if o.keyRotation < 0 || (o.keyRotation > 0 && o.keyRotation < oauth.MinKeyRotation) {
		errs = append(errs, fmt.Errorf("--key-rotation %s: must be 0 or at least 1m", o.keyRotation))
	}
	cfg := emulator.Config{Issuer: strings.TrimSuffix(o.issuer, "/"), Logger: log, Seed: o.seed,
		SigningAlg: o.signingAlg, KeyRotation: o.keyRotation, BlockLocalWebhookTargets: !o.localTargets,
		OperatorToken: o.operatorToken, Loopback: control.LoopbackAddr(o.addr), RequirePKCE: o.requirePKCE}
	cfg.ShutdownTimeout = o.shutdownTimeout
	if o.faultsFile != "" {
		data, err := os.ReadFile(o.faultsFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("--faults: %w", err))
		} else if rules, err := faults.ParseFile(o.faultsFile, data); err != nil {
			errs = append(errs, fmt.Errorf("--faults: %w", err))
		} else {
			cfg.FaultRules = rules
		}
	}
	if o.fixtures != "" {
		if st, err := os.Stat(o.fixtures); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("--fixtures %q: not a readable directory", o.fixtures))
		} else {
			cfg.Fixtures = os.DirFS(o.fixtures)
		}
	}
	if o.dataDir != "" && o.databaseURL != "" {
		errs = append(errs, errors.New("--data-dir and --database-url (or ARGUS_SANDBOX_DATA_DIR and ARGUS_SANDBOX_DATABASE_URL): give one of them, not both"))
	}
	if u, err := url.Parse(o.databaseURL); o.databaseURL != "" && (err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql") {
		errs = append(errs, errors.New("--database-url: must be a postgres:// or postgresql:// URL"))
	}
	if o.databaseTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--database-timeout %s: must be positive", o.databaseTimeout))
	}
	if o.deliveryLease < webhooks.MinLease {
		errs = append(errs, fmt.Errorf("--delivery-lease %s: must be at least %s", o.deliveryLease, webhooks.MinLease))
	}
	cfg.DataDir, cfg.DatabaseURL, cfg.DatabaseTimeout = o.dataDir, o.databaseURL, o.databaseTimeout
	cfg.DeliveryLease = o.deliveryLease
	if o.specs != "" {
		if st, err := os.Stat(o.specs); err != nil || !st.IsDir() {
			errs = append(errs, fmt.Errorf("--specs %q: not a readable directory", o.specs))
		} else {
			cfg.Specs = os.DirFS(o.specs)
		}
	}
	return cfg, errors.Join(errs...)
}

// bind completes cfg for the address the listener got. The default issuer
// names the port actually bound (--addr HOST:0 picks one: tokens must name
// the URL clients reach) and the scheme served. On a loopback address only the Host values that
// name the sandbox are answered, against DNS rebinding; beyond loopback
// (a container, reached by arbitrary names) only when --allowed-hosts is
// set.
func (o *options) bind(cfg *emulator.Config, bound net.Addr) {
	host, _, _ := net.SplitHostPort(o.addr)
	_, port, _ := net.SplitHostPort(bound.String())
	if cfg.Issuer == "" {
		scheme := "http://"
		if o.tlsEnabled() {
			scheme = "https://"
		}
		cfg.Issuer = scheme + publicAddr(net.JoinHostPort(host, port))
	}
	if !cfg.Loopback && len(o.allowedHosts) == 0 {
		return
	}
	names := []string{"localhost", "127.0.0.1", "::1"}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		names = append(names, host)
	}
	for _, name := range names {
		cfg.AllowedHosts = append(cfg.AllowedHosts, net.JoinHostPort(name, port))
	}
	if u, err := url.Parse(cfg.Issuer); err == nil {
		cfg.AllowedHosts = append(cfg.AllowedHosts, u.Host)
	}
	cfg.AllowedHosts = append(cfg.AllowedHosts, o.allowedHosts...)
}

// publicAddr turns a listen address into one a client can dial
// (0.0.0.0:8080 → 127.0.0.1:8080).
func publicAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// nameFaultsFile names the --faults file in a rule error the engine raised
// at start (a window that never opens on the clock, an unknown
// operationId): those rules came from that file.
func (o *options) nameFaultsFile(err error) {
	var verr *faults.ValidationError
	if errors.As(err, &verr) && o.faultsFile != "" {
		verr.Source = o.faultsFile
	}
}
