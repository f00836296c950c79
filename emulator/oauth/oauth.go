// Package oauth is the sandbox's OAuth 2 authorization server: the token
// endpoint (client credentials, authorization code with PKCE, refresh token
// rotation), the authorization endpoint with its sign-in and consent pages,
// revocation (RFC 7009), introspection (RFC 7662), the JWKS with key rotation
// and the discovery documents (RFC 8414, OpenID Connect Discovery 1.0).
// Access tokens are JWTs of the RFC 9068 profile, and Verifier is the one
// bearer-token check every resource server of the sandbox uses.
package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
)

// Lifetimes of what the service issues; they are part of the documented
// contract (specs/oauth.yaml).
const (
	AccessTokenTTL  = time.Hour
	RefreshTokenTTL = 30 * 24 * time.Hour
	CodeTTL         = 60 * time.Second
	// Leeway is the clock skew tolerated on exp, nbf and iat (RFC 8725 §3.10
	// asks for a small, bounded one).
	Leeway = 30 * time.Second
)

// DefaultSigningAlg is ES256: on two cores it signs about thirty times
// faster than RS256 (see the README's benchmark figures), which is what
// lets the token endpoint sustain its throughput target, and every JOSE
// library integrators use verifies it.
const DefaultSigningAlg = "ES256"

// Paths of the resource servers; a resource identifier is Issuer + path
// (RFC 8707 §2).
const (
	ResourcePlatform = "/v1/platform"
	ResourceWebhooks = "/v1/webhooks"
	ResourceGraphQL  = "/v1/graphql"
)

// Tenants looks tenants up by id; *fixtures.Set and the tenant registry
// implement it.
type Tenants interface {
	Tenant(id string) (*fixtures.Tenant, bool)
}

// Config configures the token service. Clock, Fixtures, Clients and Issuer
// are required.
type Config struct {
	Clock    core.Clock
	IDs      *core.IDs
	Fixtures *fixtures.Set
	// Tenants finds the tenants (nil: the fixture tenants); the wiring
	// passes the tenant registry, which holds those created at run time.
	Tenants Tenants
	// TenantClock, when set, gives each tenant's clock: the lifetimes of
	// its tokens and codes follow it, issued and checked (nil: Clock for
	// every tenant). Signing keys follow Clock; pruning the earliest of
	// the clocks (EarliestClock).
	TenantClock core.ClockFor
	Logger      *slog.Logger
	// Clients is the directory of registered apps (the platform surface).
	Clients ClientDirectory
	// Issuer is the absolute base URL of the sandbox, for example
	// http://127.0.0.1:8080 (RFC 8414 §2: https or loopback http, no query
	// or fragment). It is the iss of every token.
	Issuer string
	// Keys signs and verifies the tokens (see NewKeyring); whatever else
	// acts on the keys (the control plane, key fault rules) shares it. nil
	// means a keyring of DefaultSigningAlg on Clock that rotates only on
	// demand.
	Keys *Keyring
	// Store keeps codes, grants and refresh tokens; nil means in memory.
	Store Store
	// Faults may distort the lifetime of issued tokens; nil means none.
	Faults TokenFaults
	// RequirePKCE refuses authorization requests without a
	// code_challenge, as OAuth 2.1 does; otherwise only public clients
	// must send one.
	RequirePKCE bool
	// WallClock reads real time, which unlike Clock never goes back:
	// codes, grants, refresh tokens and token records are forgotten only
	// once they expired by both, so moving the sandbox clock forward and
	// back again finds them as they were. nil means time.Now.
	WallClock func() time.Time
	// ClaimNames, when set, lists the custom claims of every tenant's
	// users, those created at run time included, for the discovery
	// document's claims_supported (nil: the fixture users').
	ClaimNames func() []string
	// EarliestClock, when set, reads the earliest of the tenants' clocks:
	// pruning forgets only what expired before it (and before sandbox and
	// real time), so no tenant loses a record still live on its own
	// clock. A tenant whose clock runs ahead keeps its expired records
	// until the earliest clock passes them.
	EarliestClock func() time.Time
}

// Service is the OAuth 2 token service.
type Service struct {
	cfg       Config
	clock     core.Clock
	ids       *core.IDs
	log       *slog.Logger
	clients   ClientDirectory
	issuer    string
	store     Store
	keys      *Keyring
	pages     *pages
	lastPrune atomic.Int64
	// resources are the identifiers of resourcePaths under issuer.
	resources [3]string
	// userinfoOpts check the tokens of the UserInfo endpoint, which is
	// the authorization server's own: any audience of this issuer.
	userinfoOpts []jwt.ValidateOption
}

// New validates cfg, reporting every problem together. The keyring, with
// its rotation schedule, is built beforehand (NewKeyring) or by default.
func New(cfg Config) (*Service, error) {
	var errs []error
	if cfg.Clock == nil {
		errs = append(errs, errors.New("oauth: Clock is required"))
	}
	if cfg.Fixtures == nil {
		errs = append(errs, errors.New("oauth: Fixtures is required"))
	} else if cfg.Tenants == nil {
		cfg.Tenants = cfg.Fixtures
	}
	if cfg.Clients == nil {
		errs = append(errs, errors.New("oauth: Clients is required"))
	}
	if err := validateIssuer(cfg.Issuer); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.IDs == nil {
		cfg.IDs = core.NewIDs(nil)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	if cfg.WallClock == nil {
		cfg.WallClock = time.Now
	}
	if cfg.Keys == nil {
		keys, err := NewKeyring(KeyringConfig{Clock: cfg.Clock, Logger: cfg.Logger})
		if err != nil {
			return nil, err
		}
		cfg.Keys = keys
	}
	s := &Service{
		cfg: cfg, clock: cfg.Clock, ids: cfg.IDs, log: cfg.Logger, clients: cfg.Clients,
		issuer: strings.TrimSuffix(cfg.Issuer, "/"), store: cfg.Store, keys: cfg.Keys,
	}
	for i, p := range resourcePaths {
		s.resources[i] = s.issuer + p
	}
	s.pages = newPages(s.clockOf, cfg.IDs)
	s.userinfoOpts = s.validateOptions("")
	return s, nil
}

func validateIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	switch {
	case issuer == "":
		return errors.New("oauth: Issuer is required")
	case err != nil:
		return fmt.Errorf("oauth: Issuer %q: %w", issuer, err)
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		return fmt.Errorf("oauth: Issuer %q must be an absolute http(s) URL", issuer)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("oauth: Issuer %q must not have a query or fragment (RFC 8414 §2)", issuer)
	}
	return nil
}

// API returns the OAuth surface for doc (specs/oauth.yaml). Its error
// writer answers router errors in the RFC 6749 §5.2 shape (HTML on the
// authorization endpoint), never problem+json.
func (s *Service) API(doc *openapi3.T) core.API {
	return core.API{
		Name: "oauth",
		Doc:  doc,
		Handlers: map[string]http.Handler{
			"token":                       http.HandlerFunc(s.handleToken),
			"authorize":                   http.HandlerFunc(s.handleAuthorize),
			"authorizeSignIn":             http.HandlerFunc(s.handleSignIn),
			"authorizeConsent":            http.HandlerFunc(s.handleConsent),
			"revoke":                      http.HandlerFunc(s.handleRevoke),
			"introspect":                  http.HandlerFunc(s.handleIntrospect),
			"jwks":                        http.HandlerFunc(s.handleJWKS),
			"authorizationServerMetadata": http.HandlerFunc(s.handleASMetadata),
			"openIDConfiguration":         http.HandlerFunc(s.handleOpenIDConfiguration),
			"userinfo":                    http.HandlerFunc(s.handleUserInfo),
			"userinfoPost":                http.HandlerFunc(s.handleUserInfo),
		},
		Errors:       s.writeRequestError,
		LenientQuery: true,
	}
}

// Reset returns the service to its initial state: every code, grant,
// refresh token, sign-in session and revocation is forgotten and a fresh
// signing key replaces all previous ones, so no token issued before the
// reset verifies afterwards.
func (s *Service) Reset() {
	if err := s.store.Reset(context.Background()); err != nil {
		s.log.Error("oauth: reset the store", "err", err)
	}
	s.pages.reset()
	if err := s.keys.reset(); err != nil {
		s.log.Error("oauth: reset signing keys", "err", err)
	}
}

// clockOf is the clock of tenant's tokens and codes.
func (s *Service) clockOf(tenant string) core.Clock {
	if s.cfg.TenantClock == nil {
		return s.clock
	}
	return s.cfg.TenantClock(tenant)
}

// DeleteTenant forgets the tenant's codes, grants and their tokens (a
// tenant deleted or reset without its apps).
func (s *Service) DeleteTenant(ctx context.Context, tenant string) error {
	return s.store.DeleteTenant(ctx, tenant)
}

// resourceID returns the resource identifier (RFC 8707) of a path; those
// of the sandbox's resource servers are built once, since every token
// names them.
func (s *Service) resourceID(path string) string {
	for i, p := range resourcePaths {
		if p == path {
			return s.resources[i]
		}
	}
	return s.issuer + path
}

// resourcePaths are the sandbox's resource servers; Service.resources
// holds their identifiers in this order.
var resourcePaths = [3]string{ResourcePlatform, ResourceWebhooks, ResourceGraphQL}

// prune drops expired state at most once a minute of clock time, so no
// background goroutine is needed; a clock moved back prunes at once rather
// than waiting for it to catch up.
func (s *Service) prune() {
	now := s.clock.Now()
	last := s.lastPrune.Load()
	if d := now.Unix() - last; d >= 0 && d < 60 || !s.lastPrune.CompareAndSwap(last, now.Unix()) {
		return
	}
	oldest, _ := s.keys.generations()
	cutoff := s.pruneCutoff(now)
	s.store.Prune(cutoff, oldest)
	s.pages.prune(cutoff)
}

// pruneCutoff is the earliest of sandbox time now, real time and every
// tenant's clock (Config.EarliestClock), so that a record still live on
// its tenant's clock, set well behind the sandbox clock, is kept.
func (s *Service) pruneCutoff(now time.Time) time.Time {
	if wall := s.cfg.WallClock(); wall.Before(now) {
		now = wall
	}
	if s.cfg.EarliestClock != nil {
		if t := s.cfg.EarliestClock(); t.Before(now) {
			now = t
		}
	}
	return now
}
