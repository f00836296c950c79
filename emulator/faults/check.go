package faults

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// checkRule finds what the schema cannot express: match fields that do not
// apply to the action's target, unparseable windows and patterns, options
// that contradict each other. Pointers are relative to the rule.
func checkRule(r Rule) []Issue {
	var issues []Issue
	add := func(field, reason string) { issues = append(issues, Issue{Field: field, Reason: reason}) }
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
	issues = append(issues, checkWindow(r.When, time.Time{})...)
	// The engine compares matches with after+first: bounding both keeps the
	// sum far from overflowing. The schema says the same; rules built in Go
	// skip it.
	if r.When.After < 0 || r.When.After > MaxMatches {
		add("/when/after", fmt.Sprintf("must be between 0 and %d, got %d", MaxMatches, r.When.After))
	}
	if r.When.First < 0 || r.When.First > MaxMatches {
		add("/when/first", fmt.Sprintf("must be between 1 and %d, got %d", MaxMatches, r.When.First))
	}
	issues = append(issues, checkDurations(r.Action)...)
	return issues
}

// MaxMatches bounds when.after and when.first (specs/faults.schema.json
// says the same), so that after+first cannot overflow.
const MaxMatches = 1_000_000_000

// checkWindow refuses a window that never opens: until at or before from.
// Bounds of one kind (two times, or two durations counted from the load)
// compare by themselves, which checkRule does with a zero now; a time and a
// duration compare only on the sandbox clock, which the engine does with
// its now when it loads the rule. Unparseable bounds are reported by
// checkRule.
func checkWindow(w When, now time.Time) []Issue {
	if w.From == "" || w.Until == "" {
		return nil
	}
	_, fromErr := time.Parse(time.RFC3339, w.From)
	_, untilErr := time.Parse(time.RFC3339, w.Until)
	if mixed := (fromErr == nil) != (untilErr == nil); mixed == now.IsZero() {
		return nil
	}
	from, err := parseInstant(w.From, now)
	if err != nil {
		return nil
	}
	until, err := parseInstant(w.Until, now)
	if err != nil || from.Before(until) {
		return nil
	}
	reason := fmt.Sprintf("must be later than from (%s): the window would never open", w.From)
	if !now.IsZero() {
		reason = fmt.Sprintf("must be later than from: loaded at %s, the window runs from %s until %s and would never open",
			now.UTC().Format(time.RFC3339), from.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
	}
	return []Issue{{Field: "/when/until", Reason: reason}}
}

// Bounds of the durations a rule may give. A request-side wait holds a
// request open, so it must end well before the server's 60-second write
// timeout, which does not stop a handler that is still waiting; clock-side
// waits run on the sandbox clock and only need to stay meaningful.
const (
	// MaxRequestWait bounds latency (fixed plus jitter) and the total time
	// a slow_drip reply takes.
	MaxRequestWait = 30 * time.Second
	// MaxClockWait bounds delivery delays, stale JWKS periods, stale
	// timestamps, Retry-After and injected token lifetimes.
	MaxClockWait = 30 * 24 * time.Hour
)

// checkDurations applies the bounds above and the actions' own rules on
// their durations.
func checkDurations(a Action) []Issue {
	var issues []Issue
	add := func(field, reason string) { issues = append(issues, Issue{Field: field, Reason: reason}) }
	atMost := func(field string, d Duration, limit time.Duration) {
		if time.Duration(d) > limit {
			add(field, fmt.Sprintf("must be at most %s, got %s", limit, time.Duration(d)))
		}
	}
	switch {
	case a.Latency != nil:
		l := a.Latency
		switch {
		case l.Fixed <= 0 && l.Jitter <= 0:
			add("/action/latency", "set fixed, jitter or both to a positive duration")
		case time.Duration(l.Fixed) > MaxRequestWait:
			atMost("/action/latency/fixed", l.Fixed, MaxRequestWait)
		case time.Duration(l.Jitter) > MaxRequestWait:
			atMost("/action/latency/jitter", l.Jitter, MaxRequestWait)
		case time.Duration(l.Fixed+l.Jitter) > MaxRequestWait:
			add("/action/latency/jitter", fmt.Sprintf("fixed plus jitter must be at most %s, got %s", MaxRequestWait, time.Duration(l.Fixed+l.Jitter)))
		}
	case a.Error != nil:
		if a.Error.RetryAfter != 0 && a.Error.Status != 429 && a.Error.Status != 503 {
			add("/action/error/retry_after", "only 429 and 503 replies carry Retry-After")
		}
		if a.Error.Limit != 0 && a.Error.Status != 429 {
			add("/action/error/limit", "only 429 replies carry rate-limit headers")
		}
		atMost("/action/error/retry_after", a.Error.RetryAfter, MaxClockWait)
	case a.SlowDrip != nil:
		if a.SlowDrip.Interval < 0 {
			add("/action/slow_drip/interval", "must not be negative")
		}
		// The total is bounded when the reply is sent (drip widens the
		// chunks); one interval alone must already fit.
		atMost("/action/slow_drip/interval", a.SlowDrip.Interval, MaxRequestWait)
	case a.RotateKeys != nil:
		atMost("/action/rotate_keys/stale_jwks", a.RotateKeys.StaleJWKS, MaxClockWait)
	case a.StaleJWKS != nil:
		if a.StaleJWKS.For <= 0 {
			add("/action/stale_jwks/for", "must be a positive duration")
		}
		atMost("/action/stale_jwks/for", a.StaleJWKS.For, MaxClockWait)
	case a.TokenExpiry != nil:
		if d := time.Duration(a.TokenExpiry.ExpiresIn); d > MaxClockWait || d < -MaxClockWait {
			add("/action/token_expiry/expires_in", fmt.Sprintf("must be between -%s and %s, got %s", MaxClockWait, MaxClockWait, d))
		}
	case a.Delay != nil:
		if a.Delay.For <= 0 {
			add("/action/delay/for", "must be a positive duration")
		}
		atMost("/action/delay/for", a.Delay.For, MaxClockWait)
	case a.StaleTimestamp != nil:
		atMost("/action/stale_timestamp/by", a.StaleTimestamp.By, MaxClockWait)
	case a.TimestampOffset != nil:
		if d := time.Duration(a.TimestampOffset.By); d > MaxClockWait || d < -MaxClockWait {
			add("/action/timestamp_offset/by", fmt.Sprintf("must be between -%s and %s, got %s", MaxClockWait, MaxClockWait, d))
		}
	}
	return issues
}

// durationIssues finds the durations under an action that match the
// schema's pattern but do not fit a time.Duration (about ±292 years), so
// the rule is refused naming the field rather than failing to decode.
func durationIssues(v any, ptr string, inAction bool) []Issue {
	var issues []Issue
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			key := strings.NewReplacer("~", "~0", "/", "~1").Replace(k)
			issues = append(issues, durationIssues(e, ptr+"/"+key, inAction || k == "action")...)
		}
	case []any:
		for i, e := range v {
			issues = append(issues, durationIssues(e, ptr+"/"+strconv.Itoa(i), inAction)...)
		}
	case string:
		// Only durations are checked: other strings under an action (a
		// signature form) are the schema's business.
		if _, err := time.ParseDuration(v); inAction && err != nil && durationLike.MatchString(v) {
			issues = append(issues, Issue{Field: ptr, Reason: durationReason(v)})
		}
	}
	return issues
}

// durationLike is the schema's pattern of a (signed) duration.
var durationLike = regexp.MustCompile(`^-?([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`)

// durationReason explains a duration string time.ParseDuration refused.
func durationReason(s string) string {
	return fmt.Sprintf("%q is not a usable duration: it is out of range (durations are limited to about 292 years)", s)
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
