package sandboxtest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/fixtures"
)

// Option configures New and RunInProcess.
type Option func(*settings)

type settings struct {
	fixturesDir   string
	faultsFile    string
	seed          int64
	operatorToken string
	logger        *slog.Logger
}

// WithFixtures replaces the embedded fixtures with the five files of dir
// (tenants.yaml, scopes.yaml, cases.yaml, events.yaml, bundles.yaml).
func WithFixtures(dir string) Option { return func(s *settings) { s.fixturesDir = dir } }

// WithFaults loads a fault-rule file (YAML or JSON, the --faults format) at
// start; Reset returns to its rules.
func WithFaults(file string) Option { return func(s *settings) { s.faultsFile = file } }

// WithSeed makes IDs, secrets, retry jitter and fault probabilities
// reproducible.
func WithSeed(seed int64) Option { return func(s *settings) { s.seed = seed } }

// WithOperatorToken sets the control-plane token (a random one by default).
func WithOperatorToken(token string) Option { return func(s *settings) { s.operatorToken = token } }

// WithLogger receives the sandbox's logs (a container's are read with
// docker logs).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// resolve applies opts over the defaults and checks the fixtures and faults
// files, so a bad file fails with its name and field. Every problem is reported together. It returns
// the emulator configuration an in-process sandbox starts from: the
// fixtures and the parsed fault rules.
func resolve(opts []Option) (*settings, *fixtures.Set, emulator.Config, error) {
	s := &settings{}
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
