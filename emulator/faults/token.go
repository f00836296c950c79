package faults

import (
	"time"
)

// TokenInfo describes an access token about to be issued.
type TokenInfo struct {
	Tenant    string
	ClientID  string
	RequestID string
}

// TokenPlan changes an issued token.
type TokenPlan struct {
	// Fired is the firing, for diagnostics.
	Fired Event
	// ExpiresIn replaces the token's lifetime; zero or negative issues a
	// token that is already expired (its exp is in the past).
	ExpiresIn time.Duration
}

// MatchToken evaluates the token rules for one issued token; ok is false
// when none fires. The first firing rule wins.
func (e *Engine) MatchToken(info TokenInfo) (plan TokenPlan, ok bool) {
	now := e.cfg.Clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.saveIfMatchedLocked(e.matchesLocked())
	for _, rs := range e.rules {
		m := rs.rule.Match
		if rs.target != TargetToken ||
			m.Tenant != "" && m.Tenant != info.Tenant ||
			m.ClientID != "" && m.ClientID != info.ClientID ||
			!e.fires(rs, now) {
			continue
		}
		d := time.Duration(rs.rule.Action.TokenExpiry.ExpiresIn)
		detail := "token issued with a lifetime of " + d.String()
		if d <= 0 {
			detail = "token issued already expired (by " + (-d).String() + ")"
		}
		ev := e.record(rs, Event{At: now, Detail: detail, Tenant: info.Tenant, ClientID: info.ClientID, RequestID: info.RequestID})
		return TokenPlan{Fired: ev, ExpiresIn: d}, true
	}
	return TokenPlan{}, false
}
