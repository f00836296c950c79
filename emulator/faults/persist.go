package faults

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"time"
)

// StateStore keeps the rule set, with each rule's counters and random
// stream, across restarts of the sandbox: one snapshot, saved after every
// change (a rule added, deleted or cleared, a reset, a match).
type StateStore interface {
	// LoadRules returns the saved snapshot; nil when none was saved.
	LoadRules(ctx context.Context) ([]byte, error)
	// SaveRules replaces the saved snapshot.
	SaveRules(ctx context.Context, snapshot []byte) error
}

// SharedStateStore is a StateStore several processes share (replicas on
// one database). The rule set changes by compare-and-set, so two
// processes changing it at once both have their change, and each rule's
// counters are counted in the store, atomically, so limits (first,
// after) hold across the processes; counting moves no snapshot.
type SharedStateStore interface {
	StateStore
	// SwapRules replaces the snapshot with next when the stored one is
	// still prev (nil: none is stored) and reports whether it did; the
	// counters of the rules drop names (instance ids) go with it.
	SwapRules(ctx context.Context, prev, next []byte, drop []string) (bool, error)
	// CountMatch adds a match to the rule's counters and returns them
	// after it; the match counts as a firing too when fire is set and
	// its number n (the new Matched) satisfies after < n and, for limit
	// > 0, n <= limit. Counters start at zero.
	CountMatch(ctx context.Context, rule string, fire bool, after, limit int64) (Counts, error)
	// CountFiring adds a firing to the rule's counters and returns them.
	CountFiring(ctx context.Context, rule string) (Counts, error)
	// LoadCounts returns every rule's counters by rule id.
	LoadCounts(ctx context.Context) (map[string]Counts, error)
	// AppendEvent adds a firing to the shared log, which then keeps the
	// keep most recent firings.
	AppendEvent(ctx context.Context, ev Event, keep int) error
	// Events lists the logged firings f selects, oldest first (see
	// EventFilter).
	Events(ctx context.Context, f EventFilter) ([]Event, error)
	// ClearEvents empties the log.
	ClearEvents(ctx context.Context) error
}

// Counts are a rule's counters in a SharedStateStore.
type Counts struct {
	Matched, Fired int64
}

// savedRule is one rule of a snapshot: the rule as loaded, when it was
// loaded (its relative window counts from then), its counters and the
// state of its random stream.
type savedRule struct {
	// ID names this loading of the rule (a rule deleted and added again
	// under its name gets another), for its counters in a
	// SharedStateStore; empty in a store of one process.
	ID       string    `json:"id,omitempty"`
	Rule     Rule      `json:"rule"`
	LoadedAt time.Time `json:"loaded_at"`
	Matched  int       `json:"matched"`
	Fired    int       `json:"fired"`
	RNG      []byte    `json:"rng,omitempty"`
}

type savedRules struct {
	Rules []savedRule `json:"rules"`
}

// storeTimeout bounds one call to the store.
const storeTimeout = 30 * time.Second

// restore replaces the rule set with the saved one, when there is one;
// otherwise it saves the rule set it has. It runs in New, before the
// engine is shared.
func (e *Engine) restore(ctx context.Context) error {
	data, err := e.cfg.Store.LoadRules(ctx)
	if err != nil {
		return fmt.Errorf("faults: load the saved rules: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if data == nil {
		// Another process starting at once may save first: its rules
		// stand (no redo).
		return e.commitLocked(nil)
	}
	if err := e.applyLocked(data); err != nil {
		return err
	}
	if e.shared != nil && slices.ContainsFunc(e.rules, func(rs *ruleState) bool { return rs.id == "" }) {
		// A snapshot saved by a single process: give its rules ids.
		for _, rs := range e.rules {
			if rs.id == "" {
				rs.id = newRuleID()
			}
		}
		return e.commitLocked(nil)
	}
	return nil
}

// Reload replaces the rule set with the snapshot Config.Store holds, when
// it differs from the one this engine saved or loaded last: another
// process sharing the store changed it. On a SharedStateStore a rule
// this engine holds already is kept as it is (its counters are the
// store's); otherwise the stored counters and random streams replace
// what this engine counted since its last save. Without a store, or with
// nothing saved, it does nothing.
func (e *Engine) Reload(ctx context.Context) error {
	if e.cfg.Store == nil {
		return nil
	}
	data, err := e.cfg.Store.LoadRules(ctx)
	if err != nil {
		return fmt.Errorf("faults: load the saved rules: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if data == nil || bytes.Equal(data, e.saved) {
		return nil
	}
	return e.applyLocked(data)
}

// applyLocked replaces the rule set with a saved snapshot; the rule set
// is left unchanged when the snapshot does not decode.
func (e *Engine) applyLocked(data []byte) error {
	var snap savedRules
	if err := json.Unmarshal(data, &snap); err != nil {
		return fmt.Errorf("faults: the saved rules do not decode: %w", err)
	}
	held := map[string]*ruleState{}
	if e.shared != nil {
		for _, rs := range e.rules {
			held[rs.id] = rs
		}
	}
	rules := make([]*ruleState, 0, len(snap.Rules))
	ids := make([]string, 0, len(snap.Rules))
	for _, sr := range snap.Rules {
		ids = append(ids, sr.ID)
		if rs, ok := held[sr.ID]; ok && sr.ID != "" {
			rules = append(rules, rs)
			continue
		}
		rs := e.newStateAt(sr.Rule, sr.LoadedAt)
		rs.id = sr.ID
		rs.matched, rs.fired = sr.Matched, sr.Fired
		if len(sr.RNG) > 0 {
			if err := rs.pcg.UnmarshalBinary(sr.RNG); err != nil {
				return fmt.Errorf("faults: rule %s: the saved random stream: %w", sr.Rule.Name, err)
			}
		}
		rules = append(rules, rs)
	}
	e.rules, e.saved, e.savedIDs = rules, data, ids
	return nil
}

// snapshotLocked encodes the rule set, and lists its rules' ids.
func (e *Engine) snapshotLocked() ([]byte, []string, error) {
	snap := savedRules{Rules: make([]savedRule, len(e.rules))}
	ids := make([]string, len(e.rules))
	for i, rs := range e.rules {
		rng, _ := rs.pcg.MarshalBinary()
		snap.Rules[i] = savedRule{ID: rs.id, Rule: rs.rule, LoadedAt: rs.loaded, Matched: rs.matched, Fired: rs.fired, RNG: rng}
		ids[i] = rs.id
	}
	data, err := json.Marshal(snap)
	return data, ids, err
}

// saveLocked saves the rule set when the engine has a store; a failure is
// logged (the rules in memory stay in force). Callers hold e.mu, so the
// snapshots reach the store in the order of the changes.
func (e *Engine) saveLocked() {
	if e.cfg.Store == nil {
		return
	}
	data, _, err := e.snapshotLocked()
	if err == nil {
		err = e.cfg.Store.SaveRules(context.Background(), data)
	}
	if err == nil {
		e.saved = data
	}
	if err != nil {
		e.log.Error("saving the fault rules failed", "error", err)
	}
}

// maxSwaps bounds the attempts of a change of a shared rule set that
// other processes keep changing under it.
const maxSwaps = 8

// commitLocked saves the rule set after a change. On a SharedStateStore
// the save is a compare-and-set against the snapshot last saved or
// loaded: when another process changed the rules meanwhile, its snapshot
// is applied and redo makes the change again on it (false: nothing left
// to change; nil: the stored rules stand), so neither change is lost.
// Without a shared store it is saveLocked. A failure of the store is
// logged (the rules in memory stay in force); redo's error is returned.
func (e *Engine) commitLocked(redo func() (bool, error)) error {
	if e.shared == nil {
		e.saveLocked()
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	for range maxSwaps {
		data, ids, err := e.snapshotLocked()
		if err != nil {
			e.log.Error("saving the fault rules failed", "error", err)
			return nil
		}
		ok, err := e.shared.SwapRules(ctx, e.saved, data, dropped(e.savedIDs, ids))
		if err != nil {
			e.log.Error("saving the fault rules failed", "error", err)
			return nil
		}
		if ok {
			e.saved, e.savedIDs = data, ids
			return nil
		}
		stored, err := e.cfg.Store.LoadRules(ctx)
		if err != nil {
			e.log.Error("saving the fault rules failed", "error", err)
			return nil
		}
		if stored == nil {
			e.saved, e.savedIDs = nil, nil
			continue
		}
		if err := e.applyLocked(stored); err != nil {
			e.log.Error("saving the fault rules failed", "error", err)
			return nil
		}
		if redo == nil {
			return nil
		}
		if again, err := redo(); err != nil || !again {
			return err
		}
	}
	e.log.Error("saving the fault rules failed: other processes kept changing them")
	return nil
}

// dropped lists the ids of before that after lacks.
func dropped(before, after []string) []string {
	var out []string
	for _, id := range before {
		if id != "" && !slices.Contains(after, id) {
			out = append(out, id)
		}
	}
	return out
}

// newRuleID names one loading of a rule in a SharedStateStore.
func newRuleID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// refreshCountsLocked takes the counters of a SharedStateStore for the
// rules shown to the control plane; a failure leaves the last ones known.
func (e *Engine) refreshCountsLocked() {
	if e.shared == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	counts, err := e.shared.LoadCounts(ctx)
	if err != nil {
		e.log.Error("reading the fault rules' counters failed", "error", err)
		return
	}
	for _, rs := range e.rules {
		c := counts[rs.id]
		rs.matched, rs.fired = int(c.Matched), int(c.Fired)
	}
}

// fires counts a match of rs and decides whether it fires (see
// ruleState.fires). On a SharedStateStore the store counts, in one
// statement, so limits hold across the processes sharing it; the chance
// of a rule with a probability is drawn from the seed, the rule's name
// and the match's number, the same whichever process counts it. Should
// the store fail, the match is counted here alone.
func (e *Engine) fires(rs *ruleState, now time.Time) bool {
	if e.shared == nil {
		return rs.fires(now)
	}
	if !rs.inWindow(now) {
		return false
	}
	w := rs.rule.When
	var limit int64
	if w.First > 0 {
		limit = int64(w.After + w.First)
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	c, err := e.shared.CountMatch(ctx, rs.id, w.Probability == nil, int64(w.After), limit)
	if err != nil {
		e.log.Error("counting a fault rule's match failed", "rule", rs.rule.Name, "error", err)
		return rs.count()
	}
	rs.matched, rs.fired = int(c.Matched), int(c.Fired)
	if n := c.Matched; n <= int64(w.After) || limit > 0 && n > limit {
		return false
	}
	if w.Probability == nil {
		return true
	}
	if rs.chance(e.cfg.Seed, c.Matched) >= *w.Probability {
		return false
	}
	if c, err = e.shared.CountFiring(ctx, rs.id); err != nil {
		e.log.Error("counting a fault rule's firing failed", "rule", rs.rule.Name, "error", err)
		rs.fired++
	} else {
		rs.matched, rs.fired = int(c.Matched), int(c.Fired)
	}
	return true
}

// chance is the draw deciding whether the rule's match number n fires.
func (rs *ruleState) chance(seed uint64, n int64) float64 {
	return mrand.New(mrand.NewPCG(seed, rs.nameHash^uint64(n)*0x9e3779b97f4a7c15)).Float64()
}

// matchesLocked counts the matches of every rule when the engine saves
// its rule set after matches (0 otherwise, at no cost): a matching
// function defers saveIfMatchedLocked with it, to save only when a rule
// matched. A SharedStateStore counts on its own.
func (e *Engine) matchesLocked() int {
	if e.cfg.Store == nil || e.shared != nil {
		return 0
	}
	n := 0
	for _, rs := range e.rules {
		n += rs.matched
	}
	return n
}

// saveIfMatchedLocked saves the rule set when the matches counted differ
// from before (matchesLocked at the start of the evaluation).
func (e *Engine) saveIfMatchedLocked(before int) {
	if e.cfg.Store != nil && e.shared == nil && e.matchesLocked() != before {
		e.saveLocked()
	}
}
