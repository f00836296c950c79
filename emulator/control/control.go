// Package control is the sandbox's control plane (/_sandbox/...): reset,
// the virtual clock, event triggers, key rotation, reviewer decisions and
// fault rules, webhooks with a chosen secret and waiting for deliveries to
// settle, plus the public meta endpoints /healthz and /openapi/{name}.
// It reaches the surfaces only through the small interfaces declared here.
package control

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/fixtures"
)

// Errors the collaborators wrap so the control plane can answer 404/409.
var (
	// ErrNotFound: the access request (or other named resource) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the resource's state forbids the change (already decided).
	ErrConflict = errors.New("conflict")
)

// Clock is the virtual clock's control surface; *core.VirtualClock
// implements it.
type Clock interface {
	Now() time.Time
	State() core.ClockState
	Advance(d time.Duration) time.Time
	Set(t time.Time) time.Time
	Freeze()
	Unfreeze()
	Reset()
}

var _ Clock = (*core.VirtualClock)(nil)

// Resetter returns every surface to its fixture state.
type Resetter interface {
	Reset(ctx context.Context, keepApps bool) error
}

// ResetFunc adapts a function to Resetter.
type ResetFunc func(ctx context.Context, keepApps bool) error

// Reset calls f.
func (f ResetFunc) Reset(ctx context.Context, keepApps bool) error { return f(ctx, keepApps) }

// EventTrigger publishes catalog events with the topic's example payload
// and overrides merged over it (the webhooks engine): n of them, 1 to
// MaxEventCount, each with its own id, returned in publish order. On an
// error the ids of the events already published come with it.
type EventTrigger interface {
	TriggerN(ctx context.Context, tenant, topic string, overrides map[string]any, n int) (eventIDs []string, err error)
}

// CaseEvents publishes case.* events bound to the stored case they are
// about (the GraphQL case store and the webhooks engine, joined by the
// wiring): the case overrides["case"]["id"] of tenant takes the case
// fields of overrides (without an id, each event creates a case), and
// every event carries the case as stored after its change. An unknown id
// is an error wrapping ErrNotFound; refused fields come as an error with a
// DataIssues method, as EventTrigger's do.
type CaseEvents interface {
	TriggerCaseN(ctx context.Context, tenant, topic string, overrides map[string]any, n int) (eventIDs []string, err error)
}

// MaxEventCount bounds the count of POST /_sandbox/events (specs/sandbox.yaml
// says the same).
const MaxEventCount = 1000

// KeyRotator rotates the token signing key (the token service).
type KeyRotator interface {
	// RotateKeys starts signing with a new key and returns its kid. With
	// staleJWKS > 0 the JWKS keeps showing the key set of before the
	// rotation for that long: one step, so the new kid is never served
	// early.
	RotateKeys(ctx context.Context, staleJWKS time.Duration) (kid string, err error)
}

// AccessDecision is a decided access request.
type AccessDecision struct {
	ID         string    `json:"id"`
	Tenant     string    `json:"tenant"`
	Capability string    `json:"capability"`
	Status     string    `json:"status"`
	Reason     string    `json:"reason,omitempty"`
	DecidedAt  time.Time `json:"decided_at"`
}

// AccessDecider plays the reviewer of access requests (the platform). It
// returns errors wrapping ErrNotFound or ErrConflict where they apply. A
// non-empty tenant limits it to that tenant's requests: another tenant's
// is ErrNotFound.
type AccessDecider interface {
	DecideAccessRequest(ctx context.Context, tenant, id string, approve bool, reason string) (AccessDecision, error)
}

// FaultRules manages fault rules; *faults.Engine implements it.
type FaultRules interface {
	Add(r faults.Rule) (faults.RuleStatus, error)
	Rules() []faults.RuleStatus
	Rule(name string) (faults.RuleStatus, error)
	Delete(name string) error
	Clear()
	Events(ctx context.Context, f faults.EventFilter) ([]faults.Event, error)
	Reset()
}

var _ FaultRules = (*faults.Engine)(nil)

// Journal serves the request journal and the live stream (the journal
// package); the control plane authorizes each call first.
type Journal interface {
	ServeRequests(w http.ResponseWriter, r *http.Request)
	ServeClear(w http.ResponseWriter, r *http.Request)
	ServeStream(w http.ResponseWriter, r *http.Request)
}

// Config configures the control plane. Clock and Faults are required; a
// nil Events, Keys, Access or Webhooks makes its endpoints answer 501.
type Config struct {
	Clock    Clock
	Fixtures *fixtures.Set
	Logger   *slog.Logger
	// Specs holds the spec files; the published ones (publishedSpecs) are
	// served at /openapi/{name}.
	Specs    fs.FS
	Resetter Resetter
	Events   EventTrigger
	// Cases binds case.* triggers to stored cases; nil (or "synthetic":
	// true in the request) publishes them as Events does.
	Cases  CaseEvents
	Keys   KeyRotator
	Access AccessDecider
	Faults FaultRules
	// Webhooks creates webhooks with a chosen secret and reports when
	// delivery work has settled (the webhooks engine).
	Webhooks Webhooks
	// Journal serves GET/DELETE /_sandbox/requests and GET
	// /_sandbox/stream.
	Journal Journal
	// OperatorToken is the bearer the control plane requires. It may be
	// empty only when Loopback is true: then any local caller is operator.
	OperatorToken string
	// Loopback says the sandbox listens on loopback addresses only.
	Loopback bool
	// Tenants is the tenant registry: the /_sandbox/tenants endpoints
	// manage it and the tenants' control tokens authenticate against it.
	// nil: those endpoints answer 501 and only the operator token works.
	Tenants *tenants.Registry
	// TenantData deletes and resets one tenant's data in the surfaces.
	TenantData TenantData
	// Clocks are the tenants' clocks over Clock (the sandbox clock); nil:
	// every tenant follows Clock.
	Clocks *core.Clocks
}

// Service serves the control plane.
type Service struct {
	cfg     Config
	log     *slog.Logger
	open    bool
	streams tenantStreams
}

// New validates cfg, reporting every problem together.
func New(cfg Config) (*Service, error) {
	var errs []error
	if cfg.Clock == nil {
		errs = append(errs, errors.New("control: Config.Clock is required"))
	}
	if cfg.Faults == nil {
		errs = append(errs, errors.New("control: Config.Faults is required"))
	}
	if cfg.Fixtures == nil {
		errs = append(errs, errors.New("control: Config.Fixtures is required"))
	}
	if cfg.Specs == nil {
		errs = append(errs, errors.New("control: Config.Specs is required"))
	}
	if cfg.OperatorToken == "" && !cfg.Loopback {
		errs = append(errs, errors.New("control: an operator token is required when the sandbox listens beyond loopback"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: cfg.Logger, open: cfg.OperatorToken == ""}, nil
}

// APIName is the name of the control plane's API and spec (sandbox.yaml).
const APIName = faults.ControlAPI

// API returns the control plane's operations for the router.
func (s *Service) API(doc *openapi3.T) core.API {
	op := s.operator
	return core.API{
		Name: APIName,
		Doc:  doc,
		Handlers: map[string]http.Handler{
			"getHealth":            http.HandlerFunc(s.health),
			"getSpecFile":          http.HandlerFunc(s.specFile),
			"createTenant":         op(s.global(s.withTenants(s.createTenant))),
			"listTenants":          op(s.global(s.withTenants(s.listTenants))),
			"getTenant":            op(s.withTenants(s.getTenant)),
			"deleteTenant":         op(s.global(s.withTenants(s.deleteTenant))),
			"rotateTenantToken":    op(s.global(s.withTenants(s.rotateTenantToken))),
			"resetSandbox":         op(s.reset),
			"getClock":             op(s.getClock),
			"updateClock":          op(s.updateClock),
			"triggerEvent":         op(s.triggerEvent),
			"rotateSigningKey":     op(s.global(s.rotateKeys)),
			"decideAccessRequest":  op(s.decideAccess),
			"createFaultRule":      op(s.createFault),
			"listFaultRules":       op(s.listFaults),
			"clearFaultRules":      op(s.clearFaults),
			"listFaultEvents":      op(s.listFaultEvents),
			"getFaultRule":         op(s.getFault),
			"deleteFaultRule":      op(s.deleteFault),
			"createSandboxWebhook": op(s.createWebhook),
			"waitWebhooksIdle":     op(s.waitIdle),
			"listRequests":         op(s.ownJournal(s.journal(Journal.ServeRequests))),
			"clearRequests":        op(s.ownJournal(s.journal(Journal.ServeClear))),
			"streamSandbox":        op(s.ownJournal(s.tenantStream(s.journal(Journal.ServeStream)))),
		},
		Security: map[string]core.Authenticator{"operatorToken": s.Authenticator()},
	}
}

// LoopbackAddr reports whether a listen address (host:port) accepts only
// local connections: a loopback IP or "localhost". An empty host or
// 0.0.0.0 listens everywhere.
func LoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
