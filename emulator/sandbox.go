// Package emulator assembles the Argus sandbox: it loads the specs and
// fixtures, builds every surface, connects them through their small
// interfaces and mounts them on one spec-driven router. It is the library
// behind cmd/sandbox, the conformance runner and the sandboxtest package.
package emulator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/platform"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/specs"
)

// Config configures a sandbox. The zero value (plus Issuer) is a working
// sandbox on the embedded specs and fixtures.
type Config struct {
	// Issuer is the base URL the sandbox is reached at, e.g.
	// http://127.0.0.1:8080; it names the token issuer and audiences.
	Issuer string
	// Specs and Fixtures override the embedded files.
	Specs    fs.FS
	Fixtures fs.FS
	Logger   *slog.Logger
	// Seed makes IDs, secrets and fault probabilities reproducible; 0 uses
	// crypto/rand.
	Seed int64
	// Clock defaults to a VirtualClock following real time.
	Clock *core.VirtualClock
	// MaxBodyBytes bounds request bodies (1 MiB when zero).
	MaxBodyBytes int64
	// CheckResponse, when set, validates every response against the specs
	// (test suites pass t.Errorf through it).
	CheckResponse func(r *http.Request, op string, err error)
}

// Sandbox is an assembled emulator.
type Sandbox struct {
	Clock    *core.VirtualClock
	IDs      *core.IDs
	Fixtures *fixtures.Set
	Platform *platform.Service

	router *core.Router
	docs   map[string]*openapi3.T
	closer []func()
}

// specFiles lists the OpenAPI documents of specs/, by API name.
var specFiles = []string{"platform"}

// New assembles a sandbox. Every problem with the specs or fixtures is
// reported with the file and field it concerns.
func New(cfg Config) (*Sandbox, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("emulator: Issuer is required")
	}
	if cfg.Specs == nil {
		cfg.Specs = specs.Default()
	}
	if cfg.Fixtures == nil {
		cfg.Fixtures = fixtures.Default()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	fx, err := fixtures.Load(cfg.Fixtures)
	if err != nil {
		return nil, err
	}
	docs, err := loadSpecs(cfg.Specs)
	if err != nil {
		return nil, err
	}
	sb := &Sandbox{Clock: cfg.Clock, Fixtures: fx, docs: docs}
	if sb.Clock == nil {
		sb.Clock = core.NewVirtualClock(nil)
		sb.closer = append(sb.closer, sb.Clock.Close)
	}
	if cfg.Seed != 0 {
		sb.IDs = core.NewIDs(seededReader(cfg.Seed))
	} else {
		sb.IDs = core.NewIDs(nil)
	}
	sb.Platform, err = platform.New(platform.Config{Clock: sb.Clock, IDs: sb.IDs, Fixtures: fx, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	sb.router, err = core.NewRouter(core.RouterConfig{
		APIs: []core.API{
			sb.Platform.API(docs["platform"]),
		},
		Security: map[string]core.Authenticator{
			"adminToken": sb.Platform.AdminAuthenticator(),
			"accessToken": core.AuthenticatorFunc(func(context.Context, string) (*core.Principal, error) {
				return nil, core.ErrInvalidToken
			}),
		},
		MaxBodyBytes:  cfg.MaxBodyBytes,
		Logger:        cfg.Logger,
		IDs:           sb.IDs,
		CheckResponse: cfg.CheckResponse,
	})
	if err != nil {
		return nil, err
	}
	return sb, nil
}

// Handler serves the whole contract.
func (sb *Sandbox) Handler() http.Handler { return sb.router }

// Operations lists every routed operation.
func (sb *Sandbox) Operations() []core.OperationInfo { return sb.router.Operations() }

// Close stops background work (timers, delivery workers).
func (sb *Sandbox) Close() {
	for i := len(sb.closer) - 1; i >= 0; i-- {
		sb.closer[i]()
	}
}

func loadSpecs(fsys fs.FS) (map[string]*openapi3.T, error) {
	docs := map[string]*openapi3.T{}
	var errs []error
	for _, name := range specFiles {
		file := name + ".yaml"
		data, err := fs.ReadFile(fsys, file)
		if err != nil {
			errs = append(errs, fmt.Errorf("spec %s: %w", file, err))
			continue
		}
		doc, err := core.LoadSpec(file, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		docs[name] = doc
	}
	return docs, errors.Join(errs...)
}

// seededReader is a deterministic byte stream for reproducible runs.
type seeded struct{ r *mrand.ChaCha8 }

func seededReader(seed int64) *seeded {
	var s [32]byte
	for i := 0; i < 8; i++ {
		s[i] = byte(seed >> (8 * i))
	}
	return &seeded{r: mrand.NewChaCha8(s)}
}

func (s *seeded) Read(p []byte) (int, error) { return s.r.Read(p) }
