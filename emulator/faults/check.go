package faults

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// checkRule finds what the schema cannot express: match fields that do not
// apply to the action's target, unparseable windows and patterns, options
// that contradict each other. Pointers are relative to the rule.
func checkRule(r Rule) []Issue {
	var issues []Issue
	add := func(field, reason string) { issues = append(issues, Issue{field, reason}) }
	name, target := r.Action.Kind()
	if name == "" {
		add("/action", "exactly one action is required")
		return issues
	}
	m := r.Match
	for _, f := range []struct {
		field, value string
		targets      []Target
	}{
		{"operation", m.Operation, []Target{TargetHTTP}},
		{"path", m.Path, []Target{TargetHTTP}},
		{"method", m.Method, []Target{TargetHTTP}},
		{"client_id", m.ClientID, []Target{TargetHTTP, TargetToken}},
		{"endpoint", m.Endpoint, []Target{TargetDelivery}},
		{"topic", m.Topic, []Target{TargetDelivery}},
	} {
		if f.value != "" && !slices.Contains(f.targets, target) {
			add("/match/"+f.field, fmt.Sprintf("does not apply to the %s action (it applies to %s)", name, describe(f.targets)))
		}
	}
	if m.Path != "" {
		if _, err := path.Match(strings.TrimSuffix(m.Path, "/**"), "/"); err != nil {
			add("/match/path", "bad pattern: "+err.Error())
		}
	}
	if r.When.From != "" {
		if _, err := parseInstant(r.When.From, time.Time{}); err != nil {
			add("/when/from", err.Error())
		}
	}
	if r.When.Until != "" {
		if _, err := parseInstant(r.When.Until, time.Time{}); err != nil {
			add("/when/until", err.Error())
		}
	}
	a := r.Action
	switch {
	case a.Latency != nil:
		if a.Latency.Fixed <= 0 && a.Latency.Jitter <= 0 {
			add("/action/latency", "set fixed, jitter or both to a positive duration")
		}
	case a.Error != nil:
		if a.Error.RetryAfter != 0 && a.Error.Status != 429 && a.Error.Status != 503 {
			add("/action/error/retry_after", "only 429 and 503 replies carry Retry-After")
		}
		if a.Error.Limit != 0 && a.Error.Status != 429 {
			add("/action/error/limit", "only 429 replies carry rate-limit headers")
		}
	case a.SlowDrip != nil:
		if a.SlowDrip.Interval < 0 {
			add("/action/slow_drip/interval", "must not be negative")
		}
	case a.StaleJWKS != nil:
		if a.StaleJWKS.For <= 0 {
			add("/action/stale_jwks/for", "must be a positive duration")
		}
	case a.Delay != nil:
		if a.Delay.For <= 0 {
			add("/action/delay/for", "must be a positive duration")
		}
	}
	return issues
}

func describe(ts []Target) string {
	words := map[Target]string{TargetHTTP: "request actions", TargetToken: "token actions", TargetDelivery: "webhook delivery actions"}
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = words[t]
	}
	return strings.Join(parts, " and ")
}

// parseInstant reads an RFC 3339 time, or a non-negative duration counted
// from base.
func parseInstant(s string, base time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a non-negative duration", s)
	}
	return base.Add(d), nil
}
