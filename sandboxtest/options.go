package sandboxtest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/fixtures"
)

// DefaultImage is the image Run starts unless WithImage or the
// ARGUS_SANDBOX_IMAGE environment variable names another. Build it with
// scripts/build-image.sh (which also tags it latest) or docker build.
const DefaultImage = "argus-sandbox:latest"

// Option configures Run and RunInProcess.
type Option func(*settings)

type settings struct {
	image          string
	fixturesDir    string
	faultsFile     string
	seed           int64
	operatorToken  string
	startupTimeout time.Duration
	logger         *slog.Logger
}

// WithImage sets the container image (Run only).
func WithImage(ref string) Option { return func(s *settings) { s.image = ref } }

// WithFixtures replaces the embedded fixtures with the five files of dir
// (tenants.yaml, scopes.yaml, cases.yaml, events.yaml, bundles.yaml). A
// container gets a copy of the directory.
func WithFixtures(dir string) Option { return func(s *settings) { s.fixturesDir = dir } }

// WithFaults loads a fault-rule file (YAML or JSON, the --faults format) at
// start; Reset returns to its rules.
func WithFaults(file string) Option { return func(s *settings) { s.faultsFile = file } }

// WithSeed makes IDs, secrets, retry jitter and fault probabilities
// reproducible.
func WithSeed(seed int64) Option { return func(s *settings) { s.seed = seed } }

// WithOperatorToken sets the control-plane token (a random one by default).
func WithOperatorToken(token string) Option { return func(s *settings) { s.operatorToken = token } }

// WithStartupTimeout bounds the wait for the sandbox to become healthy
// (60 s by default; a container's first start may include image loading).
func WithStartupTimeout(d time.Duration) Option { return func(s *settings) { s.startupTimeout = d } }

// WithLogger receives the sandbox's logs (RunInProcess only; a container's
// logs are read with docker logs).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// resolve applies opts over the defaults and checks the fixtures and faults
// files here, so a bad file fails with its name and field before a
// container is started. Every problem is reported together. It returns
// the emulator configuration an in-process sandbox starts from: the
// fixtures and the parsed fault rules.
func resolve(opts []Option) (*settings, *fixtures.Set, emulator.Config, error) {
	s := &settings{image: DefaultImage, startupTimeout: 60 * time.Second}
	if v := os.Getenv("ARGUS_SANDBOX_IMAGE"); v != "" {
		s.image = v
	}
	for _, o := range opts {
		o(s)
	}
	if s.operatorToken == "" {
		s.operatorToken = "op_" + rand.Text()
	}
	var errs []error
	var cfg emulator.Config
	fx := fixtures.MustDefault()
	if s.fixturesDir != "" {
		var err error
		cfg.Fixtures = os.DirFS(s.fixturesDir)
		if fx, err = fixtures.Load(cfg.Fixtures); err != nil {
			errs = append(errs, fmt.Errorf("sandboxtest: fixtures %s: %w", s.fixturesDir, err))
		}
	}
	if s.faultsFile != "" {
		data, err := os.ReadFile(s.faultsFile)
		if err == nil {
			cfg.FaultRules, err = emulator.ParseFaultRules(s.faultsFile, data)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("sandboxtest: faults: %w", err))
		}
	}
	return s, fx, cfg, errors.Join(errs...)
}

// listen opens a TCP listener on host with a free port.
func listen(host string) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("sandboxtest: listen on %s: %w", host, err)
	}
	return ln, nil
}
