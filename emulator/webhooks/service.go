// Package webhooks is the Argus webhooks surface: subscriptions to the
// canonical event catalog, Standard Webhooks signed at-least-once delivery
// with retries on the injected clock, delivery diagnostics, redelivery, and
// the fault seam the faults package drives.
package webhooks

import (
	"context"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
)

// Engine defaults; Config documents each.
const (
	DefaultWorkers                = 64
	DefaultQueueSize              = 10000
	DefaultPerEndpointConcurrency = 16
	DefaultAttemptTimeout         = 15 * time.Second
	DefaultRotationWindow         = 24 * time.Hour
	DefaultMaxWebhooksPerTenant   = 50
)

// Bounds of Config.AttemptTimeout: shorter would time out healthy
// consumers on a loaded host, longer would let one hung endpoint hold its
// workers for minutes.
const (
	// MinAttemptTimeout is the shortest attempt timeout accepted.
	MinAttemptTimeout = 100 * time.Millisecond
	// MaxAttemptTimeout is the longest attempt timeout accepted.
	MaxAttemptTimeout = time.Minute
)

// ErrClosed is returned by Publish, Trigger and WaitIdle once Shutdown or
// Close has begun.
var ErrClosed = errors.New("webhooks engine closed")

// Tenants looks tenants up by id; *fixtures.Set and the tenant registry
// implement it.
type Tenants interface {
	Tenant(id string) (*fixtures.Tenant, bool)
}

// Config configures the webhooks surface and its delivery engine.
type Config struct {
	Clock    core.Clock
	IDs      *core.IDs
	Fixtures *fixtures.Set
	// Tenants finds the tenants (nil: the fixture tenants); the wiring
	// passes the tenant registry, which holds those created at run time.
	Tenants Tenants
	Logger  *slog.Logger
	// Store keeps webhooks and deliveries; nil means a MemoryStore with
	// Retention.
	Store Store
	// Retention is how many finished deliveries the default store keeps
	// per webhook (DefaultRetention when zero).
	Retention int
	// Faults shapes attempts (nil: none).
	Faults DeliveryFaults
	// AllowLocalTargets lets webhooks target loopback and private
	// addresses and the host's own interface addresses, and plain http
	// for them. Turn it off on shared deployments so the sandbox cannot be
	// used to reach internal hosts (or to tell their open ports from the
	// closed ones: connection failures are then reported alike).
	AllowLocalTargets bool
	// RootCAs verifies https endpoints (nil: the system roots).
	RootCAs *x509.CertPool
	// Workers is the size of the delivery worker pool: the attempts in
	// flight across all endpoints (DefaultWorkers, or 4 per CPU when that
	// is more). Four times PerEndpointConcurrency by default, so endpoints
	// that hang hold at most a quarter of the workers each.
	Workers int
	// QueueSize bounds the new deliveries waiting for a worker; Publish
	// blocks while it is full.
	QueueSize int
	// PerEndpointConcurrency bounds the attempts in flight to one webhook
	// (DefaultPerEndpointConcurrency): like a production delivery service
	// it keeps a small pool of keep-alive connections busy per endpoint,
	// so one endpoint's throughput is not capped at a few requests per
	// round trip, while a slow endpoint holds only that many workers.
	// Deliveries of different events are not ordered among themselves.
	PerEndpointConcurrency int
	// AttemptTimeout bounds one attempt (DefaultAttemptTimeout when zero,
	// else MinAttemptTimeout to MaxAttemptTimeout). It is real time, as
	// network timeouts are: advancing the sandbox clock does not cut short
	// an answer on its way. Argus waits 15 s; a shorter one makes tests of
	// a consumer's timeout handling quicker.
	AttemptTimeout time.Duration
	// Schedule lists the waits before each retry (DefaultSchedule when
	// nil; an empty non-nil slice means no retries).
	Schedule []time.Duration
	// Jitter is the largest fraction added to each wait (DefaultJitter
	// when zero; negative means none).
	Jitter float64
	// DisableAfter is the continuous-failure period after which an
	// endpoint is disabled (DefaultDisableAfter when zero).
	DisableAfter time.Duration
	// RotationWindow is how long a rotated-out secret keeps signing when
	// the request does not say (DefaultRotationWindow when zero).
	RotationWindow time.Duration
	// MaxWebhooksPerTenant bounds the default store's subscriptions per
	// tenant (DefaultMaxWebhooksPerTenant when zero); a given Store brings
	// its own limit.
	MaxWebhooksPerTenant int
	// Audit records recoveries in the tenant's audit trail (nil: none).
	Audit AuditTrail
	// WallClock stamps webhook-timestamp (time.Now when nil). It is the
	// consumer's real clock that checks freshness (Standard Webhooks'
	// five-minute window), so the header follows real time even when the
	// sandbox clock has been moved; the event's own timestamp, retry
	// schedule and secret expiry follow Clock.
	WallClock func() time.Time
	// Observer hears of published events and delivery attempts (nil:
	// nobody).
	Observer Observer
	// TenantClock, when set, gives each tenant's clock: its events'
	// timestamps, retry waits, delays and secret expiry follow it (nil:
	// Clock for every tenant).
	TenantClock core.ClockFor
	// LatestClock, with TenantClock, reads the latest time of every
	// tenant's clock: claiming due deliveries from a durable store asks for
	// those due by then and waits, on its tenant's clock, for any not due
	// yet on it (nil: Clock).
	LatestClock func() time.Time
	// Lease is how long a delivery this engine holds stays its own without
	// a heartbeat (DefaultLease when zero, at least MinLease), in real
	// time: once an engine dies, another engine (or the next start) makes
	// the attempts it held after at most this long. The engine renews its
	// leases every third of it.
	Lease time.Duration
	// PollInterval is how often the engine asks a durable store for due
	// deliveries it does not hold yet (DefaultPollInterval when zero), in
	// real time. A store that is not Durable is asked once, at start.
	PollInterval time.Duration
}

// Service is the webhooks surface: management API and delivery engine.
type Service struct {
	cfg     Config
	clock   core.Clock
	ids     *core.IDs
	log     *slog.Logger
	store   Store
	faults  DeliveryFaults
	catalog *catalog
	policy  targetPolicy
	client  *http.Client
	retry   retryPolicy
	disp    *dispatcher
	// owner names this engine in the leases it takes (see Store).
	owner  string
	audit  AuditTrail
	recov  recoveries
	ctx    context.Context
	cancel context.CancelFunc
}

// New validates cfg, reporting every problem together, and starts the
// worker pool. Call Close to stop it.
func New(cfg Config) (*Service, error) {
	var errs []error
	if cfg.Clock == nil {
		errs = append(errs, errors.New("webhooks: Config.Clock is required"))
	}
	if cfg.IDs == nil {
		errs = append(errs, errors.New("webhooks: Config.IDs is required"))
	}
	if cfg.Fixtures == nil {
		errs = append(errs, errors.New("webhooks: Config.Fixtures is required"))
	} else if cfg.Tenants == nil {
		cfg.Tenants = cfg.Fixtures
	}
	for _, c := range []struct {
		name string
		v    int64
	}{{"Workers", int64(cfg.Workers)}, {"QueueSize", int64(cfg.QueueSize)}, {"PerEndpointConcurrency", int64(cfg.PerEndpointConcurrency)},
		{"AttemptTimeout", int64(cfg.AttemptTimeout)}, {"DisableAfter", int64(cfg.DisableAfter)}, {"RotationWindow", int64(cfg.RotationWindow)},
		{"MaxWebhooksPerTenant", int64(cfg.MaxWebhooksPerTenant)}, {"Retention", int64(cfg.Retention)},
		{"Lease", int64(cfg.Lease)}, {"PollInterval", int64(cfg.PollInterval)}} {
		if c.v < 0 {
			errs = append(errs, errors.New("webhooks: Config."+c.name+" must not be negative"))
		}
	}
	if t := cfg.AttemptTimeout; t > 0 && (t < MinAttemptTimeout || t > MaxAttemptTimeout) {
		errs = append(errs, fmt.Errorf("webhooks: Config.AttemptTimeout %s is outside %s..%s", t, MinAttemptTimeout, MaxAttemptTimeout))
	}
	if l := cfg.Lease; l > 0 && l < MinLease {
		errs = append(errs, fmt.Errorf("webhooks: Config.Lease %s is shorter than %s", l, MinLease))
	}
	for _, d := range cfg.Schedule {
		if d <= 0 {
			errs = append(errs, errors.New("webhooks: Config.Schedule waits must be positive"))
			break
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cfg.Workers = orDefault(cfg.Workers, max(DefaultWorkers, 4*runtime.GOMAXPROCS(0)))
	cfg.QueueSize = orDefault(cfg.QueueSize, DefaultQueueSize)
	cfg.PerEndpointConcurrency = orDefault(cfg.PerEndpointConcurrency, DefaultPerEndpointConcurrency)
	cfg.MaxWebhooksPerTenant = orDefault(cfg.MaxWebhooksPerTenant, DefaultMaxWebhooksPerTenant)
	cfg.AttemptTimeout = orDefault(cfg.AttemptTimeout, DefaultAttemptTimeout)
	cfg.DisableAfter = orDefault(cfg.DisableAfter, DefaultDisableAfter)
	cfg.RotationWindow = orDefault(cfg.RotationWindow, DefaultRotationWindow)
	cfg.Lease = orDefault(cfg.Lease, DefaultLease)
	cfg.PollInterval = orDefault(cfg.PollInterval, DefaultPollInterval)
	if cfg.Schedule == nil {
		cfg.Schedule = DefaultSchedule
	}
	switch {
	case cfg.Jitter == 0:
		cfg.Jitter = DefaultJitter
	case cfg.Jitter < 0:
		cfg.Jitter = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore(cfg.Retention, cfg.MaxWebhooksPerTenant)
	}
	s := &Service{
		cfg:     cfg,
		clock:   cfg.Clock,
		ids:     cfg.IDs,
		log:     cfg.Logger,
		store:   cfg.Store,
		faults:  cfg.Faults,
		catalog: newCatalog(cfg.Fixtures.EventTypes),
		policy:  newTargetPolicy(cfg.AllowLocalTargets, net.InterfaceAddrs),
		retry:   retryPolicy{schedule: cfg.Schedule, jitter: cfg.Jitter, random: cfg.IDs.Bytes},
		disp:    newDispatcher(cfg.QueueSize, cfg.PerEndpointConcurrency, 2*cfg.AttemptTimeout),
		owner:   newOwner(),
		audit:   cfg.Audit,
		recov:   recoveries{latest: map[string]*Recovery{}},
	}
	s.client = newHTTPClient(s.policy, cfg.RootCAs, cfg.Workers)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for range cfg.Workers {
		s.disp.wg.Add(1)
		go s.worker()
	}
	// Resume: what the store holds pending and due (a crash or a stop left
	// it) is queued. A durable store is claimed from and then polled by
	// poll, beside the start rather than on its way: the first claim's
	// round trip is no part of a cold start.
	if s.store.Durable() {
		s.disp.wg.Add(1)
		go s.poll()
	} else {
		s.claimDue(s.ctx, true)
	}
	return s, nil
}

func orDefault[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func (s *Service) worker() {
	defer s.disp.wg.Done()
	for {
		q, j, ok := s.disp.next()
		if !ok {
			return
		}
		// The job's copies (a delayed or held attempt) must not close
		// done again.
		done := j
		j.done = nil
		// An endpoint served one attempt at a time keeps its order of
		// attempt and record: the next attempt reads the webhook as the
		// record left it (a 410's disable, the start or end of a run of
		// failures). Others give the turn back with the attempt.
		t := &turn{release: func() { s.disp.release(q) }}
		ctx := s.ctx
		if s.cfg.PerEndpointConcurrency > 1 {
			ctx = context.WithValue(ctx, turnKey{}, t)
		}
		s.process(ctx, j)
		s.disp.finish(q, t.ended)
		done.signalDone()
	}
}

// Reset returns the surface to the fixture state (no webhooks): queued
// work and pending retries are dropped with the store's content.
func (s *Service) Reset() {
	s.disp.mu.Lock()
	s.disp.clearLocked()
	s.disp.mu.Unlock()
	s.resetRecoveries()
	if err := s.store.Reset(context.Background()); err != nil {
		s.log.Error("reset webhooks store", "err", err)
	}
}

// DeleteTenant forgets the tenant's webhooks and deliveries: its pending
// retries and delays are cancelled (when tenants have clocks of their own,
// Config.TenantClock) and queued attempts find nothing to send.
func (s *Service) DeleteTenant(ctx context.Context, tenant string) error {
	if s.cfg.TenantClock != nil {
		if clock := s.cfg.TenantClock(tenant); clock != s.clock {
			s.disp.mu.Lock()
			for e := range s.disp.timers {
				if e.clock == clock {
					s.disp.cancelLocked(e)
				}
			}
			s.disp.changed.Broadcast()
			s.disp.mu.Unlock()
		}
	}
	if err := s.store.DeleteTenant(ctx, tenant); err != nil {
		return err
	}
	s.forgetRecoveries(tenant, "")
	return nil
}

// Close stops accepting events, drops queued work and pending retries,
// abandons the attempts in flight and waits for the workers to return.
// Deliveries not yet settled stay pending in the store; a durable store
// gets their leases back, so the next start or another engine resumes
// them at once. Shutdown drains first.
func (s *Service) Close() error {
	s.disp.close()
	s.cancel()
	s.disp.wg.Wait()
	s.client.CloseIdleConnections()
	if s.store.Durable() {
		s.releaseLeases()
	}
	return nil
}

// WaitIdle blocks until no delivery work can progress without the clock
// moving: nothing queued or in flight and no wait already due. Tests and
// the conformance runner call it after publishing or advancing the clock.
// On a durable store, which other engines may share, the store must also
// hold no delivery due on the sandbox clock that another engine has in
// flight or nobody has claimed yet (see waitSettled). Once a shutdown has
// begun it returns ErrClosed: the work will not settle.
func (s *Service) WaitIdle(ctx context.Context) error {
	return s.waitSettled(ctx, "", s.clock, s.disp.waitIdle, s.disp.idle)
}

// WaitTenantIdle is WaitIdle for one tenant's delivery work: another
// tenant's queued or slow attempts do not hold it. (With one clock for
// every tenant, its due timers and callbacks still count for all.) In the
// store it asks about the tenant's deliveries due on the tenant's clock.
func (s *Service) WaitTenantIdle(ctx context.Context, tenant string) error {
	clock := s.clockOf(tenant)
	return s.waitSettled(ctx, tenant, clock,
		func(ctx context.Context) error { return s.disp.waitTenantIdle(ctx, tenant, clock) },
		func() bool { return s.disp.tenantIdle(tenant, clock) })
}

// clockOf is the clock of tenant's events, deliveries and webhooks.
func (s *Service) clockOf(tenant string) core.Clock {
	if s.cfg.TenantClock == nil {
		return s.clock
	}
	return s.cfg.TenantClock(tenant)
}

// randIntn returns a random int in [0, n) from the injected ID source, so
// a seeded source makes shuffles reproducible.
func (s *Service) randIntn(n int) int {
	return int(binary.BigEndian.Uint64(s.ids.Bytes(8)) % uint64(n))
}
