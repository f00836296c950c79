// Package faults makes the sandbox misbehave on purpose: rules matched
// against requests, issued tokens and webhook deliveries inject latency,
// errors, broken connections, token and key trouble and delivery anomalies,
// the way production will. Every firing is recorded so a user always knows
// what hit them.
package faults

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"
)

// Rule is one fault rule, as written in the --faults file or posted to the
// control plane. Its JSON form is specs/faults.schema.json#/$defs/rule.
type Rule struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Match       Match  `json:"match"`
	When        When   `json:"when"`
	Action      Action `json:"action"`
}

// Match selects what a rule applies to; empty fields match anything.
type Match struct {
	Operation string `json:"operation,omitempty"`
	Path      string `json:"path,omitempty"`
	Method    string `json:"method,omitempty"`
	Tenant    string `json:"tenant,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Endpoint  string `json:"endpoint,omitempty"`
	Topic     string `json:"topic,omitempty"`
}

// When says which matches make a rule fire.
type When struct {
	// Probability is the chance of firing (nil means always).
	Probability *float64 `json:"probability,omitempty"`
	// After skips the first After matches.
	After int `json:"after,omitempty"`
	// First limits firing to the First matches that follow the skipped ones.
	First int `json:"first,omitempty"`
	// From and Until bound a window on the sandbox clock (on the tenant's
	// clock for a rule matching one tenant): RFC 3339 times or durations
	// counted from when the rule was loaded.
	From  string `json:"from,omitempty"`
	Until string `json:"until,omitempty"`
}

// Action is the one fault a rule injects: exactly one field is set.
type Action struct {
	Latency        *Latency        `json:"latency,omitempty"`
	Error          *ErrorReply     `json:"error,omitempty"`
	Reset          *Disconnect     `json:"reset,omitempty"`
	EmptyReply     *Disconnect     `json:"empty_reply,omitempty"`
	Truncate       *Truncate       `json:"truncate,omitempty"`
	Malformed      *NoOptions      `json:"malformed,omitempty"`
	SlowDrip       *SlowDrip       `json:"slow_drip,omitempty"`
	RotateKeys     *RotateKeys     `json:"rotate_keys,omitempty"`
	StaleJWKS      *StaleJWKS      `json:"stale_jwks,omitempty"`
	TokenExpiry    *TokenExpiry    `json:"token_expiry,omitempty"`
	Duplicate      *Duplicate      `json:"duplicate,omitempty"`
	Reorder        *Reorder        `json:"reorder,omitempty"`
	Delay          *Delay          `json:"delay,omitempty"`
	ResponseLost   *NoOptions      `json:"response_lost,omitempty"`
	BadSignature   *NoOptions      `json:"bad_signature,omitempty"`
	StaleTimestamp *StaleTimestamp `json:"stale_timestamp,omitempty"`
	RotateSecret   *NoOptions      `json:"rotate_secret,omitempty"`
	// TimestampOffset and Signature are delivery actions too.
	TimestampOffset *TimestampOffset `json:"timestamp_offset,omitempty"`
	Signature       *Signature       `json:"signature,omitempty"`
	Synthetic       *Synthetic       `json:"synthetic,omitempty"`
}

// NoOptions is the empty options object of actions that take none.
type NoOptions struct{}

// Latency delays a request by Fixed plus a uniform draw in [0, Jitter).
type Latency struct {
	Fixed  Duration `json:"fixed,omitempty"`
	Jitter Duration `json:"jitter,omitempty"`
}

// ErrorReply answers a request with an error status instead of serving it.
type ErrorReply struct {
	Status     int      `json:"status"`
	RetryAfter Duration `json:"retry_after,omitempty"`
	Limit      int      `json:"limit,omitempty"`
}

// Disconnect drops the connection without a (complete) reply.
type Disconnect struct {
	// Processed serves the request first, so its effects happen.
	Processed bool `json:"processed,omitempty"`
}

// Truncate cuts the body after Bytes (nil: half of it).
type Truncate struct {
	Bytes *int `json:"bytes,omitempty"`
}

// SlowDrip sends the body ChunkBytes at a time, one chunk per Interval.
type SlowDrip struct {
	ChunkBytes int      `json:"chunk_bytes,omitempty"`
	Interval   Duration `json:"interval,omitempty"`
}

// RotateKeys rotates the signing key, optionally leaving the JWKS stale.
type RotateKeys struct {
	StaleJWKS Duration `json:"stale_jwks,omitempty"`
}

// StaleJWKS keeps serving the previous key set for For.
type StaleJWKS struct {
	For Duration `json:"for"`
}

// TokenExpiry gives issued access tokens this lifetime.
type TokenExpiry struct {
	ExpiresIn Duration `json:"expires_in"`
}

// Duplicate delivers an event Copies times.
type Duplicate struct {
	Copies     int  `json:"copies,omitempty"`
	Concurrent bool `json:"concurrent,omitempty"`
}

// Reorder holds Burst deliveries and releases them out of order.
type Reorder struct {
	Burst int `json:"burst,omitempty"`
}

// Delay postpones a delivery attempt.
type Delay struct {
	For Duration `json:"for"`
}

// StaleTimestamp signs a delivery with a timestamp By in the past.
type StaleTimestamp struct {
	By Duration `json:"by,omitempty"`
}

// TimestampOffset signs a delivery at real time plus By: negative in the
// past, positive in the future. StaleTimestamp{By: d} is
// TimestampOffset{By: -d}.
type TimestampOffset struct {
	By Duration `json:"by"`
}

// Signature spells a delivery's signature header, or the parts it signs,
// in one of the SignatureForms.
type Signature struct {
	Form SignatureForm `json:"form"`
}

// Synthetic sends a delivery as an event the catalog does not have,
// correctly signed: under Topic, and/or with Data deep-merged over the
// event's data.
type Synthetic struct {
	Topic string         `json:"topic,omitempty"`
	Data  map[string]any `json:"data,omitempty"`
}

// SignatureForm is how a signature fault spells a delivery.
type SignatureForm string

// The forms of the signature action (specs/faults.schema.json documents
// each).
const (
	SignatureMissing        SignatureForm = "missing"
	SignatureMalformed      SignatureForm = "malformed"
	SignatureUnknownVersion SignatureForm = "unknown_version"
	SignatureIDSwapped      SignatureForm = "id_swapped"
	SignatureBodyAltered    SignatureForm = "body_altered"
	SignatureRetiredSecret  SignatureForm = "retired_secret"
	SignatureLaterValid     SignatureForm = "later_valid"
)

// Defaults applied where an action's option is omitted.
const (
	DefaultRetryAfter     = 30 * time.Second
	DefaultRateLimit      = 100
	DefaultChunkBytes     = 16
	DefaultDripInterval   = time.Second
	DefaultCopies         = 2
	DefaultBurst          = 3
	DefaultStaleTimestamp = 10 * time.Minute
)

// Target is what an action applies to.
type Target string

// Targets of actions.
const (
	// TargetHTTP actions shape the reply to a request (Engine.Wrap).
	TargetHTTP Target = "http"
	// TargetToken actions change issued tokens (Engine.MatchToken).
	TargetToken Target = "token"
	// TargetDelivery actions change webhook deliveries (Engine.MatchDelivery).
	TargetDelivery Target = "delivery"
)

// Kind names the action that is set and what it applies to.
func (a Action) Kind() (name string, target Target) {
	for _, k := range []struct {
		set    bool
		name   string
		target Target
	}{
		{a.Latency != nil, "latency", TargetHTTP},
		{a.Error != nil, "error", TargetHTTP},
		{a.Reset != nil, "reset", TargetHTTP},
		{a.EmptyReply != nil, "empty_reply", TargetHTTP},
		{a.Truncate != nil, "truncate", TargetHTTP},
		{a.Malformed != nil, "malformed", TargetHTTP},
		{a.SlowDrip != nil, "slow_drip", TargetHTTP},
		{a.RotateKeys != nil, "rotate_keys", TargetHTTP},
		{a.StaleJWKS != nil, "stale_jwks", TargetHTTP},
		{a.TokenExpiry != nil, "token_expiry", TargetToken},
		{a.Duplicate != nil, "duplicate", TargetDelivery},
		{a.Reorder != nil, "reorder", TargetDelivery},
		{a.Delay != nil, "delay", TargetDelivery},
		{a.ResponseLost != nil, "response_lost", TargetDelivery},
		{a.BadSignature != nil, "bad_signature", TargetDelivery},
		{a.StaleTimestamp != nil, "stale_timestamp", TargetDelivery},
		{a.RotateSecret != nil, "rotate_secret", TargetDelivery},
		{a.TimestampOffset != nil, "timestamp_offset", TargetDelivery},
		{a.Signature != nil, "signature", TargetDelivery},
		{a.Synthetic != nil, "synthetic", TargetDelivery},
	} {
		if k.set {
			return k.name, k.target
		}
	}
	return "", ""
}

// Duration is a time.Duration written as a Go duration string ("1m30s").
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"30s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a usable duration: write a Go duration such as \"30s\", within about 292 years", s)
	}
	*d = Duration(v)
	return nil
}

// matchPath reports whether a request path matches pattern: the OpenAPI
// path template itself, an exact path, a path.Match pattern, or a prefix
// ending in "/**".
func matchPath(pattern, template, requestPath string) bool {
	if pattern == template || pattern == requestPath {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "/**"); ok {
		return requestPath == prefix || strings.HasPrefix(requestPath, prefix+"/")
	}
	ok, _ := path.Match(pattern, requestPath)
	return ok
}
