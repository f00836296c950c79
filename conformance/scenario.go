// Package conformance replays webhook scenarios against an integrator's
// consumer through the sandbox's own delivery engine and fault rules, and
// reports with evidence whether the consumer applies every event exactly
// once under duplicates, retries, lost responses, reordering and signature
// trouble.
package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// Scenario is one file of scenarios/: what the runner does to the consumer
// and what it expects to observe. Its JSON form is
// specs/scenario.schema.json.
type Scenario struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	Detects string `json:"detects"`
	Why     string `json:"why"`
	// Category is what the scenario proves, for the report's score per
	// category; CategoryOther when the file names none.
	Category Category           `json:"category,omitempty"`
	Requires []string           `json:"requires,omitempty"`
	Faults   []client.FaultRule `json:"faults,omitempty"`
	Steps    []Step             `json:"steps"`
	Expect   Expect             `json:"expect"`
	// File is the file the scenario was loaded from.
	File string `json:"-"`
}

// Capabilities a scenario may require (Scenario.Requires).
const (
	// RequireRestart is the capability of restarting the consumer (--exec).
	RequireRestart = "restart"
	// RequireCallback is a consumer that calls back into the run's sandbox
	// with the app the runner knows: with --exec, or with --target given
	// --sandbox and the consumer's own --client-id/--client-secret.
	RequireCallback = "callback"
)

// Step is one action of a scenario; exactly one field is set.
type Step struct {
	Publish *Publish  `json:"publish,omitempty"`
	Advance *Duration `json:"advance,omitempty"`
	// Restart kills the consumer (no graceful shutdown: a request it is
	// serving gets no answer) and starts it again.
	Restart *Restart `json:"restart,omitempty"`
	// RotateSecret rotates the webhook's signing secret (the previous one
	// keeps signing for the rotation window) and restarts the consumer
	// with the new secret, as an integrator deploys it.
	RotateSecret *struct{} `json:"rotate_secret,omitempty"`
	// Recover enables the webhook again (after it was disabled for
	// failing) and re-sends its failed deliveries since the scenario
	// began, as an integrator does after fixing an outage.
	Recover   *struct{} `json:"recover,omitempty"`
	Redeliver string    `json:"redeliver,omitempty"`
	Expect    *Expect   `json:"expect,omitempty"`
}

// Restart is a kill and restart of the consumer.
type Restart struct {
	// AfterAnswer kills only once the consumer has answered every
	// delivery made so far: calls of its own that fault rules hold are
	// released first (the sandbox clock moves by the longest hold, 30 s).
	// A consumer that answers before its side effect is then killed with
	// the effect still in flight; one that applies first, after it.
	AfterAnswer bool `json:"after_answer,omitempty"`
}

// Publish publishes events of the catalog through the sandbox.
type Publish struct {
	// As labels the events; expectations refer to them by it.
	As    string `json:"as"`
	Topic string `json:"topic"`
	// Count distinct events are published (1 when zero).
	Count int `json:"count,omitempty"`
	// Case is a case label or a fixture case id (case_...).
	Case    string         `json:"case,omitempty"`
	Version int            `json:"version,omitempty"`
	Status  string         `json:"status,omitempty"`
	Data    map[string]any `json:"data,omitempty"`
	// AwaitFault names a fault rule of the scenario: after publishing, the
	// runner waits for it to fire instead of for deliveries to settle.
	AwaitFault string `json:"await_fault,omitempty"`
	// MinBytes pads the event (data.padding) until its data is at least
	// this long, for large payloads.
	MinBytes int `json:"min_bytes,omitempty"`
}

// Expect is what the runner checks, at one step or at the end.
type Expect struct {
	// Responses are level 1: the consumer's answers.
	Responses []ResponseExpect `json:"responses,omitempty"`
	// Applied and Cases are level 2: the consumer's probe.
	Applied map[string]int       `json:"applied,omitempty"`
	Cases   map[string]CaseState `json:"cases,omitempty"`
	// Notes is level 3: notes the consumer wrote back per case.
	Notes map[string]int `json:"notes,omitempty"`
}

// ResponseExpect constrains the answers to the deliveries of one label.
type ResponseExpect struct {
	Event string `json:"event"`
	// Attempt selects one attempt (with its duplicate copies); 0 means all.
	Attempt int       `json:"attempt,omitempty"`
	Status  string    `json:"status"`
	Within  *Duration `json:"within,omitempty"`
}

// CaseState is the state of a case a consumer mirrors, as its probe shows
// it.
type CaseState struct {
	Status  string `json:"status"`
	Version int    `json:"version"`
}

// String reads "IN_PROGRESS v2".
func (c CaseState) String() string { return fmt.Sprintf("%s v%d", c.Status, c.Version) }

// StatusTimeout is the response status of an attempt that got no answer
// within the attempt timeout.
const StatusTimeout = "timeout"

// matchStatus reports whether an HTTP status satisfies want ("2xx" or an
// exact code).
func matchStatus(want string, got int) bool {
	if class, ok := strings.CutSuffix(want, "xx"); ok {
		return fmt.Sprint(got/100) == class
	}
	return fmt.Sprint(got) == want
}

// Duration is a time.Duration written as a Go duration string.
type Duration time.Duration

// UnmarshalJSON reads a duration string ("10s").
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"10s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// isCaseID reports whether ref names a fixture case rather than a label.
func isCaseID(ref string) bool { return strings.HasPrefix(ref, "case_") }

// topics lists the topics a scenario publishes, for its subscription.
func (s *Scenario) topics() []string {
	var out []string
	seen := map[string]bool{}
	for _, st := range s.Steps {
		if p := st.Publish; p != nil && !seen[p.Topic] {
			seen[p.Topic] = true
			out = append(out, p.Topic)
		}
	}
	return out
}

// expectations lists every Expect of the scenario, the final one last.
func (s *Scenario) expectations() []*Expect {
	var out []*Expect
	for _, st := range s.Steps {
		if st.Expect != nil {
			out = append(out, st.Expect)
		}
	}
	return append(out, &s.Expect)
}
