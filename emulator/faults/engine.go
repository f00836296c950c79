package faults

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Store errors of the rule set.
var (
	// ErrNotFound is returned for a rule name that is not loaded.
	ErrNotFound = errors.New("fault rule not found")
	// ErrExists is returned when adding a rule whose name is taken.
	ErrExists = errors.New("fault rule already exists")
)

// KeyController is what key and JWKS faults need from the token service.
type KeyController interface {
	// RotateKeys starts signing with a new key and returns its kid. With
	// staleJWKS > 0 the JWKS keeps showing the key set of before the
	// rotation for that long: one step, so the new kid is never served
	// early.
	RotateKeys(ctx context.Context, staleJWKS time.Duration) (kid string, err error)
	// StaleJWKS keeps serving the JWKS served now for d, even across
	// rotations.
	StaleJWKS(d time.Duration)
}

// Config configures an Engine.
type Config struct {
	Clock  core.Clock
	IDs    *core.IDs
	Logger *slog.Logger
	// Seed seeds each rule's RNG (with the rule's name), so probabilities
	// and jitter repeat exactly for the same seed and the same traffic.
	Seed uint64
	// Rules are the rules loaded at start (--faults); Reset returns to them.
	Rules []Rule
	// Keys performs rotate_keys and stale_jwks; nil refuses those actions.
	Keys KeyController
	// MaxEvents bounds the firing log (default 1000, oldest dropped).
	MaxEvents int
	// OnFire, when set, hears of every firing as it is recorded (the
	// sandbox's live stream). It runs under the engine's lock and must
	// not call the engine.
	OnFire func(Event)
	// Store, when set, keeps the rule set with its counters across
	// restarts: New starts from its snapshot when it has one (instead of
	// Rules), and every change is saved to it.
	Store StateStore
	// Shared says other processes share Store (replicas on one
	// database); Store must then be a SharedStateStore. Changes of the
	// rule set are compare-and-set, and the store counts every match.
	Shared bool
	// ClientTenant, when set, names the tenant of an OAuth client, so a
	// rule matching a tenant matches its token requests too (the token
	// endpoint authenticates clients, not bearers).
	ClientTenant func(clientID string) (string, bool)
	// TenantClock, when set, is the clock of a tenant: the window (from,
	// until) of a rule matching one tenant is on that tenant's clock, so a
	// partner moving its own clock opens and closes its own rules' windows.
	TenantClock core.ClockFor
}

// Engine holds the fault rules, decides which fire, and records firings.
// It is safe for concurrent use.
type Engine struct {
	cfg Config
	log *slog.Logger

	mu     sync.Mutex
	rules  []*ruleState
	events []Event
	ops    map[string]bool
	// saved is the snapshot last saved to or loaded from Config.Store:
	// Reload skips a snapshot that equals it. savedIDs are its rules' ids.
	saved    []byte
	savedIDs []string
	// shared is Config.Store when Config.Shared.
	shared SharedStateStore
}

type ruleState struct {
	// id names this loading of the rule in a SharedStateStore.
	id          string
	rule        Rule
	action      string
	target      Target
	from, until time.Time
	loaded      time.Time
	// clock is the tenant's clock of a rule matching one tenant; nil: the
	// sandbox clock.
	clock func() time.Time
	rng   *rand.Rand
	pcg   *rand.PCG // rng's source, saved with the rule
	// nameHash seeds rng (with Config.Seed).
	nameHash uint64
	matched  int
	fired    int
}

// RuleStatus is a loaded rule with its counters, as the control plane
// shows it.
type RuleStatus struct {
	Rule
	Target      Target     `json:"target"`
	Matched     int        `json:"matched"`
	Fired       int        `json:"fired"`
	LoadedAt    time.Time  `json:"loaded_at"`
	ActiveFrom  *time.Time `json:"active_from,omitempty"`
	ActiveUntil *time.Time `json:"active_until,omitempty"`
}

// New validates cfg and its rules and returns an engine.
func New(cfg Config) (*Engine, error) {
	var problems []string
	if cfg.Clock == nil {
		problems = append(problems, "faults: Config.Clock is required")
	}
	if cfg.IDs == nil {
		problems = append(problems, "faults: Config.IDs is required")
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = 1000
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, ops: map[string]bool{}}
	if cfg.Shared {
		shared, ok := cfg.Store.(SharedStateStore)
		if !ok {
			return nil, errors.New("faults: Config.Shared needs a Store that is a SharedStateStore")
		}
		e.shared = shared
	}
	issues := checkRules(cfg.Rules, e.checkCapabilities)
	if len(issues) > 0 {
		return nil, &ValidationError{Source: "faults", Issues: issues}
	}
	e.resetRules()
	if cfg.Store != nil {
		if err := e.restore(context.Background()); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Reset returns to the rules given at start, with fresh counters, RNGs and
// an empty firing log.
func (e *Engine) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resetRulesLocked()
	_ = e.commitLocked(func() (bool, error) { e.resetRulesLocked(); return true, nil })
	if e.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := e.shared.ClearEvents(ctx); err != nil {
			e.log.Error("clearing the fault firing log failed", "error", err)
		}
	}
}

func (e *Engine) resetRules() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resetRulesLocked()
}

func (e *Engine) resetRulesLocked() {
	e.rules = nil
	for _, r := range e.cfg.Rules {
		e.rules = append(e.rules, e.newState(r))
	}
	e.events = nil
}

func (e *Engine) newState(r Rule) *ruleState { return e.newStateAt(r, time.Time{}) }

// newStateAt is newState for a rule loaded at loaded (a saved rule); zero
// is now, on the clock of the rule's tenant.
func (e *Engine) newStateAt(r Rule, loaded time.Time) *ruleState {
	h := fnv.New64a()
	_, _ = h.Write([]byte(r.Name))
	clock := e.clockOf(r.Match.Tenant)
	now := loaded
	if now.IsZero() {
		now = clock()
	}
	pcg := rand.NewPCG(e.cfg.Seed, h.Sum64())
	rs := &ruleState{rule: r, loaded: now, pcg: pcg, rng: rand.New(pcg), nameHash: h.Sum64()}
	if e.shared != nil {
		rs.id = newRuleID()
	}
	if r.Match.Tenant != "" && e.cfg.TenantClock != nil {
		rs.clock = clock
	}
	rs.action, rs.target = r.Action.Kind()
	if r.When.From != "" {
		rs.from, _ = parseInstant(r.When.From, now)
	}
	if r.When.Until != "" {
		rs.until, _ = parseInstant(r.When.Until, now)
	}
	return rs
}

// checkCapabilities refuses rules the rest of the rule set or the wiring
// cannot honour: full validation, a window that never opens on the clock,
// plus missing collaborators.
func (e *Engine) checkCapabilities(r Rule) []Issue {
	issues := append(checkRule(r), checkWindow(r.When, e.clockOf(r.Match.Tenant)())...)
	if e.cfg.Keys == nil && (r.Action.RotateKeys != nil || r.Action.StaleJWKS != nil) {
		name, _ := r.Action.Kind()
		issues = append(issues, Issue{Field: "/action/" + name, Reason: "key faults are not available in this sandbox"})
	}
	return issues
}

// Add loads one more rule at the end of the rule set.
func (e *Engine) Add(r Rule) (RuleStatus, error) {
	issues := e.checkCapabilities(r)
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.Match.Operation != "" && len(e.ops) > 0 && !e.ops[r.Match.Operation] {
		issues = append(issues, Issue{Field: "/match/operation", Reason: fmt.Sprintf("no operation has operationId %q", r.Match.Operation)})
	}
	if len(issues) > 0 {
		return RuleStatus{}, &ValidationError{Issues: issues}
	}
	rs := e.newState(r)
	add := func() (bool, error) {
		for _, held := range e.rules {
			if held.rule.Name == r.Name {
				return false, fmt.Errorf("%w: %s", ErrExists, r.Name)
			}
		}
		e.rules = append(e.rules, rs)
		return true, nil
	}
	if _, err := add(); err != nil {
		return RuleStatus{}, err
	}
	if err := e.commitLocked(add); err != nil {
		return RuleStatus{}, err
	}
	return rs.status(), nil
}

// Rules lists the loaded rules in evaluation order.
func (e *Engine) Rules() []RuleStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.refreshCountsLocked()
	out := make([]RuleStatus, len(e.rules))
	for i, rs := range e.rules {
		out[i] = rs.status()
	}
	return out
}

// Rule returns one loaded rule.
func (e *Engine) Rule(name string) (RuleStatus, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.refreshCountsLocked()
	for _, rs := range e.rules {
		if rs.rule.Name == name {
			return rs.status(), nil
		}
	}
	return RuleStatus{}, fmt.Errorf("%w: %s", ErrNotFound, name)
}

// Delete unloads one rule; its past firings stay in the log.
func (e *Engine) Delete(name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	del := func() (bool, error) {
		for i, rs := range e.rules {
			if rs.rule.Name == name {
				e.rules = slices.Delete(slices.Clone(e.rules), i, i+1)
				return true, nil
			}
		}
		return false, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if _, err := del(); err != nil {
		return err
	}
	// Another process deleting it meanwhile deleted it all the same.
	return e.commitLocked(func() (bool, error) { ok, _ := del(); return ok, nil })
}

// Clear unloads every rule.
func (e *Engine) Clear() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rules = nil
	_ = e.commitLocked(func() (bool, error) { e.rules = nil; return true, nil })
}

// CheckOperations reports start-up rules that name an operationId no routed
// operation has. Call it after the router is built (Wrap learns the
// operations).
func (e *Engine) CheckOperations() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var issues []Issue
	for i, r := range e.cfg.Rules {
		if op := r.Match.Operation; op != "" && !e.ops[op] {
			issues = append(issues, Issue{Field: fmt.Sprintf("/rules/%d/match/operation", i), Reason: fmt.Sprintf("no operation has operationId %q", op)})
		}
	}
	if len(issues) > 0 {
		return &ValidationError{Source: "faults", Issues: issues}
	}
	return nil
}

func (rs *ruleState) status() RuleStatus {
	st := RuleStatus{Rule: rs.rule, Target: rs.target, Matched: rs.matched, Fired: rs.fired, LoadedAt: rs.loaded}
	if !rs.from.IsZero() {
		t := rs.from
		st.ActiveFrom = &t
	}
	if !rs.until.IsZero() {
		t := rs.until
		st.ActiveUntil = &t
	}
	return st
}

// clockOf reads the clock a rule matching tenant is timed on: the
// tenant's, or the sandbox clock for a rule of no tenant. The tenant's
// clock is looked up at each reading, since a reset or a new tenant under
// the same id gives it a new one.
func (e *Engine) clockOf(tenant string) func() time.Time {
	if tenant == "" || e.cfg.TenantClock == nil {
		return e.cfg.Clock.Now
	}
	return func() time.Time { return e.cfg.TenantClock(tenant).Now() }
}

// fires counts a match and decides whether the rule fires for it: inside
// the window, past the skipped matches, within the limit, then by chance.
// Callers hold e.mu, which also serialises the rule's RNG.
func (rs *ruleState) fires(now time.Time) bool {
	if !rs.inWindow(now) {
		return false
	}
	return rs.count()
}

// inWindow reports whether now (read on the rule's tenant's clock for a
// rule of one tenant) is inside the rule's window.
func (rs *ruleState) inWindow(now time.Time) bool {
	if rs.clock != nil {
		now = rs.clock()
	}
	return (rs.from.IsZero() || !now.Before(rs.from)) && (rs.until.IsZero() || now.Before(rs.until))
}

// count counts a match inside the window and decides whether the rule
// fires for it (see fires).
func (rs *ruleState) count() bool {
	rs.matched++
	w := rs.rule.When
	if rs.matched <= w.After || w.First > 0 && rs.matched > w.After+w.First {
		return false
	}
	if w.Probability != nil && rs.rng.Float64() >= *w.Probability {
		return false
	}
	rs.fired++
	return true
}

// jitter draws a uniform duration in [0, max) from the rule's RNG.
func (rs *ruleState) jitter(max Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return time.Duration(rs.rng.Int64N(int64(max)))
}
