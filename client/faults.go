package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// FaultRule is one fault rule: an entry of the --faults file and the body
// of POST /_sandbox/faults (specs/faults.schema.json#/$defs/rule). It
// matches requests, issued tokens or webhook deliveries (Match), fires on
// some of them (When) and injects one fault (Action).
//
//	client.FaultRule{Name: "token-outage", Match: client.FaultMatch{Operation: "token"},
//		When:   client.FaultWhen{First: 3},
//		Action: client.FaultAction{Error: &client.FaultErrorReply{Status: 503, RetryAfter: client.Duration(20 * time.Second)}}}
type FaultRule struct {
	// Name is unique (a-z0-9._-, at most 64); it appears in every firing
	// and in the X-Sandbox-Fault header of shaped replies.
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	Match       FaultMatch  `json:"match,omitzero"`
	When        FaultWhen   `json:"when,omitzero"`
	Action      FaultAction `json:"action"`
}

// FaultMatch selects what a rule applies to; every field given must match.
// Operation, Path and Method match requests; ClientID requests and tokens;
// Endpoint and Topic deliveries; Tenant all three.
type FaultMatch struct {
	// Operation is an OpenAPI operationId ("token", "listApps").
	Operation string `json:"operation,omitempty"`
	// Path is an exact path, a path template, a pattern with * per segment
	// or a prefix ending in /**.
	Path     string `json:"path,omitempty"`
	Method   string `json:"method,omitempty"`
	Tenant   string `json:"tenant,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	// Endpoint is a webhook's id or URL.
	Endpoint string `json:"endpoint,omitempty"`
	// Topic is an event topic, or a prefix ending in *.
	Topic string `json:"topic,omitempty"`
}

// FaultWhen says which matches make a rule fire (every match when empty).
type FaultWhen struct {
	// Probability is the chance of firing (nil: always).
	Probability *float64 `json:"probability,omitempty"`
	// After skips the first After matches; First then limits firing to
	// the next First matches.
	After int `json:"after,omitempty"`
	First int `json:"first,omitempty"`
	// From and Until bound a window on the sandbox clock: RFC 3339 times
	// or durations after the rule was added ("1m").
	From  string `json:"from,omitempty"`
	Until string `json:"until,omitempty"`
}

// FaultAction is the one fault a rule injects: exactly one field is set.
type FaultAction struct {
	Latency        *FaultLatency        `json:"latency,omitempty"`
	Error          *FaultErrorReply     `json:"error,omitempty"`
	Reset          *FaultDisconnect     `json:"reset,omitempty"`
	EmptyReply     *FaultDisconnect     `json:"empty_reply,omitempty"`
	Truncate       *FaultTruncate       `json:"truncate,omitempty"`
	Malformed      *FaultNoOptions      `json:"malformed,omitempty"`
	SlowDrip       *FaultSlowDrip       `json:"slow_drip,omitempty"`
	RotateKeys     *FaultRotateKeys     `json:"rotate_keys,omitempty"`
	StaleJWKS      *FaultStaleJWKS      `json:"stale_jwks,omitempty"`
	TokenExpiry    *FaultTokenExpiry    `json:"token_expiry,omitempty"`
	Duplicate      *FaultDuplicate      `json:"duplicate,omitempty"`
	Reorder        *FaultReorder        `json:"reorder,omitempty"`
	Delay          *FaultDelay          `json:"delay,omitempty"`
	ResponseLost   *FaultNoOptions      `json:"response_lost,omitempty"`
	BadSignature   *FaultNoOptions      `json:"bad_signature,omitempty"`
	StaleTimestamp *FaultStaleTimestamp `json:"stale_timestamp,omitempty"`
	RotateSecret   *FaultNoOptions      `json:"rotate_secret,omitempty"`
	// TimestampOffset and Signature are delivery actions too.
	TimestampOffset *FaultTimestampOffset `json:"timestamp_offset,omitempty"`
	Signature       *FaultSignature       `json:"signature,omitempty"`
	Synthetic       *FaultSynthetic       `json:"synthetic,omitempty"`
}

// FaultNoOptions is the empty options object of actions that take none.
type FaultNoOptions struct{}

// FaultLatency delays a request by Fixed plus a uniform draw in [0,
// Jitter), at most 30 s in all.
type FaultLatency struct {
	Fixed  Duration `json:"fixed,omitzero"`
	Jitter Duration `json:"jitter,omitzero"`
}

// FaultErrorReply answers a request with Status (429, 500, 502, 503 or 504)
// instead of serving it; 429 and 503 carry Retry-After, 429 rate-limit
// headers for Limit.
type FaultErrorReply struct {
	Status     int      `json:"status"`
	RetryAfter Duration `json:"retry_after,omitzero"`
	Limit      int      `json:"limit,omitempty"`
}

// FaultDisconnect drops the connection without a (complete) reply;
// Processed serves the request first, so its effects happen.
type FaultDisconnect struct {
	Processed bool `json:"processed,omitempty"`
}

// FaultTruncate cuts the reply's body after Bytes (nil: half of it).
type FaultTruncate struct {
	Bytes *int `json:"bytes,omitempty"`
}

// FaultSlowDrip sends the body ChunkBytes at a time, one chunk per
// Interval.
type FaultSlowDrip struct {
	ChunkBytes int      `json:"chunk_bytes,omitempty"`
	Interval   Duration `json:"interval,omitzero"`
}

// FaultRotateKeys rotates the signing key, leaving the JWKS stale for
// StaleJWKS.
type FaultRotateKeys struct {
	StaleJWKS Duration `json:"stale_jwks,omitzero"`
}

// FaultStaleJWKS keeps serving the previous key set for For.
type FaultStaleJWKS struct {
	For Duration `json:"for"`
}

// FaultTokenExpiry gives issued access tokens this lifetime; zero or
// negative issues them already expired.
type FaultTokenExpiry struct {
	ExpiresIn Duration `json:"expires_in"`
}

// FaultDuplicate delivers an event Copies times (2 by default), at once
// when Concurrent.
type FaultDuplicate struct {
	Copies     int  `json:"copies,omitempty"`
	Concurrent bool `json:"concurrent,omitempty"`
}

// FaultReorder holds Burst deliveries and releases them out of order.
type FaultReorder struct {
	Burst int `json:"burst,omitempty"`
}

// FaultDelay postpones a delivery attempt by For on the sandbox clock.
type FaultDelay struct {
	For Duration `json:"for"`
}

// FaultStaleTimestamp signs a delivery with a timestamp By in the past.
type FaultStaleTimestamp struct {
	By Duration `json:"by,omitzero"`
}

// FaultTimestampOffset signs a delivery at real time plus By (negative:
// in the past), between -720h and 720h.
type FaultTimestampOffset struct {
	By Duration `json:"by"`
}

// FaultSignature spells a delivery's signature header, or the parts it
// signs, in one of the forms of specs/faults.schema.json: missing,
// malformed, unknown_version, id_swapped, body_altered, retired_secret,
// later_valid.
type FaultSignature struct {
	Form string `json:"form"`
}

// FaultSynthetic sends a delivery as an event the catalog does not have,
// correctly signed: under Topic, and/or with Data deep-merged over the
// event's data.
type FaultSynthetic struct {
	Topic string         `json:"topic,omitempty"`
	Data  map[string]any `json:"data,omitempty"`
}

// FaultTarget is what a fault action applies to.
type FaultTarget string

// Targets of fault actions.
const (
	// FaultTargetHTTP actions shape the reply to a request.
	FaultTargetHTTP FaultTarget = "http"
	// FaultTargetToken actions change issued access tokens.
	FaultTargetToken FaultTarget = "token"
	// FaultTargetDelivery actions change webhook deliveries.
	FaultTargetDelivery FaultTarget = "delivery"
)

// Kind names the action that is set ("" when none is) and what it
// applies to, as the sandbox reports them in FaultRuleStatus.Target and
// FaultEvent.Action.
func (a FaultAction) Kind() (name string, target FaultTarget) {
	for _, k := range []struct {
		set    bool
		name   string
		target FaultTarget
	}{
		{a.Latency != nil, "latency", FaultTargetHTTP},
		{a.Error != nil, "error", FaultTargetHTTP},
		{a.Reset != nil, "reset", FaultTargetHTTP},
		{a.EmptyReply != nil, "empty_reply", FaultTargetHTTP},
		{a.Truncate != nil, "truncate", FaultTargetHTTP},
		{a.Malformed != nil, "malformed", FaultTargetHTTP},
		{a.SlowDrip != nil, "slow_drip", FaultTargetHTTP},
		{a.RotateKeys != nil, "rotate_keys", FaultTargetHTTP},
		{a.StaleJWKS != nil, "stale_jwks", FaultTargetHTTP},
		{a.TokenExpiry != nil, "token_expiry", FaultTargetToken},
		{a.Duplicate != nil, "duplicate", FaultTargetDelivery},
		{a.Reorder != nil, "reorder", FaultTargetDelivery},
		{a.Delay != nil, "delay", FaultTargetDelivery},
		{a.ResponseLost != nil, "response_lost", FaultTargetDelivery},
		{a.BadSignature != nil, "bad_signature", FaultTargetDelivery},
		{a.StaleTimestamp != nil, "stale_timestamp", FaultTargetDelivery},
		{a.RotateSecret != nil, "rotate_secret", FaultTargetDelivery},
		{a.TimestampOffset != nil, "timestamp_offset", FaultTargetDelivery},
		{a.Signature != nil, "signature", FaultTargetDelivery},
		{a.Synthetic != nil, "synthetic", FaultTargetDelivery},
	} {
		if k.set {
			return k.name, k.target
		}
	}
	return "", ""
}

// FaultRuleStatus is a loaded rule with its counters and active window.
type FaultRuleStatus struct {
	FaultRule
	Target FaultTarget `json:"target"`
	// Matched counts matches inside the window; Fired, firings.
	Matched     int        `json:"matched"`
	Fired       int        `json:"fired"`
	LoadedAt    time.Time  `json:"loaded_at"`
	ActiveFrom  *time.Time `json:"active_from,omitempty"`
	ActiveUntil *time.Time `json:"active_until,omitempty"`
}

// FaultEvent is one firing of a rule, with the request, token or delivery
// it hit.
type FaultEvent struct {
	ID     string      `json:"id"`
	Rule   string      `json:"rule"`
	Action string      `json:"action"`
	Target FaultTarget `json:"target"`
	At     time.Time   `json:"at"`
	// Detail says what exactly happened ("answered 503").
	Detail     string `json:"detail,omitempty"`
	RequestID  string `json:"request_id,omitempty"`
	Operation  string `json:"operation,omitempty"`
	Method     string `json:"method,omitempty"`
	Path       string `json:"path,omitempty"`
	Tenant     string `json:"tenant,omitempty"`
	ClientID   string `json:"client_id,omitempty"`
	EndpointID string `json:"endpoint_id,omitempty"`
	Topic      string `json:"topic,omitempty"`
	EventID    string `json:"event_id,omitempty"`
	DeliveryID string `json:"delivery_id,omitempty"`
	Attempt    int    `json:"attempt,omitempty"`
}

// FaultEventFilter narrows FaultEvents to one rule and the latest Limit
// firings (every kept one when 0).
type FaultEventFilter struct {
	Rule  string
	Limit int
}

// AddFault appends a rule to the rule set (rules are evaluated in order).
// A bad rule is an *Error naming each offending field; a taken name, a
// 409 conflict.
func (s SandboxAPI) AddFault(ctx context.Context, r FaultRule) (FaultRuleStatus, error) {
	var out FaultRuleStatus
	err := s.c.control(ctx, http.MethodPost, "/_sandbox/faults", r, http.StatusCreated, &out)
	return out, err
}

// Faults lists the rules in evaluation order with their counters.
func (s SandboxAPI) Faults(ctx context.Context) ([]FaultRuleStatus, error) {
	var out list[FaultRuleStatus]
	err := s.c.control(ctx, http.MethodGet, "/_sandbox/faults", nil, http.StatusOK, &out)
	return out.Data, err
}

// Fault reads one rule with its counters; a missing one is a 404 *Error.
func (s SandboxAPI) Fault(ctx context.Context, name string) (FaultRuleStatus, error) {
	var out FaultRuleStatus
	err := s.c.control(ctx, http.MethodGet, "/_sandbox/faults/"+escape(name), nil, http.StatusOK, &out)
	return out, err
}

// DeleteFault removes one rule; its firings stay in the log. A missing
// rule is a 404 *Error.
func (s SandboxAPI) DeleteFault(ctx context.Context, name string) error {
	return s.c.control(ctx, http.MethodDelete, "/_sandbox/faults/"+escape(name), nil, http.StatusNoContent, nil)
}

// ClearFaults removes every rule, those of the --faults file included (a
// reset brings those back); the firing log is kept.
func (s SandboxAPI) ClearFaults(ctx context.Context) error {
	return s.c.control(ctx, http.MethodDelete, "/_sandbox/faults", nil, http.StatusNoContent, nil)
}

// FaultEvents lists recorded firings, oldest first.
func (s SandboxAPI) FaultEvents(ctx context.Context, f FaultEventFilter) ([]FaultEvent, error) {
	q := url.Values{}
	if f.Rule != "" {
		q.Set("rule", f.Rule)
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out list[FaultEvent]
	err := s.c.do(ctx, call{method: http.MethodGet, path: "/_sandbox/faults/events", query: q, bearer: s.c.operator,
		want: http.StatusOK, out: &out})
	return out.Data, err
}

// Duration is a time.Duration written in JSON as a Go duration string
// ("1m30s"), the form of every duration of the specs.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a Go duration such as \"30s\"", s)
	}
	*d = Duration(v)
	return nil
}

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }
