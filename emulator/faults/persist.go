package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// savedRule is one rule of a snapshot: the rule as loaded, when it was
// loaded (its relative window counts from then), its counters and the
// state of its random stream.
type savedRule struct {
	Rule     Rule      `json:"rule"`
	LoadedAt time.Time `json:"loaded_at"`
	Matched  int       `json:"matched"`
	Fired    int       `json:"fired"`
	RNG      []byte    `json:"rng,omitempty"`
}

type savedRules struct {
	Rules []savedRule `json:"rules"`
}

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
		e.saveLocked()
		return nil
	}
	return e.applyLocked(data)
}

// Reload replaces the rule set, counters and random streams included,
// with the snapshot Config.Store holds, when it differs from the one this
// engine saved or loaded last: another process sharing the store changed
// it. What this engine counted since its last save is replaced by the
// stored counters (several processes' counters are last-writer-wins).
// Without a store, or with nothing saved, it does nothing.
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
	rules := make([]*ruleState, 0, len(snap.Rules))
	for _, sr := range snap.Rules {
		rs := e.newStateAt(sr.Rule, sr.LoadedAt)
		rs.matched, rs.fired = sr.Matched, sr.Fired
		if len(sr.RNG) > 0 {
			if err := rs.pcg.UnmarshalBinary(sr.RNG); err != nil {
				return fmt.Errorf("faults: rule %s: the saved random stream: %w", sr.Rule.Name, err)
			}
		}
		rules = append(rules, rs)
	}
	e.rules, e.saved = rules, data
	return nil
}

// saveLocked saves the rule set when the engine has a store; a failure is
// logged (the rules in memory stay in force). Callers hold e.mu, so the
// snapshots reach the store in the order of the changes.
func (e *Engine) saveLocked() {
	if e.cfg.Store == nil {
		return
	}
	snap := savedRules{Rules: make([]savedRule, len(e.rules))}
	for i, rs := range e.rules {
		rng, _ := rs.pcg.MarshalBinary()
		snap.Rules[i] = savedRule{Rule: rs.rule, LoadedAt: rs.loaded, Matched: rs.matched, Fired: rs.fired, RNG: rng}
	}
	data, err := json.Marshal(snap)
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

// matchesLocked counts the matches of every rule when the engine saves
// its rules (0 otherwise, at no cost): a matching function defers
// saveIfMatchedLocked with it, to save only when a rule matched.
func (e *Engine) matchesLocked() int {
	if e.cfg.Store == nil {
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
	if e.cfg.Store != nil && e.matchesLocked() != before {
		e.saveLocked()
	}
}
