package conformance

import (
	"encoding/json"
	"time"
)

// Status is the verdict on a scenario or one of its checks.
type Status string

// Verdicts. Unverified means the observation a check needs was not
// available (no probe, no restart): it is never counted as passed.
const (
	StatusPass       Status = "pass"
	StatusFail       Status = "fail"
	StatusUnverified Status = "unverified"
	// StatusSkipped is a scenario left out by Config.Skip: not run.
	StatusSkipped Status = "skipped"
)

// Level says what a check observes.
type Level int

// Observation levels.
const (
	// LevelHTTP observes the consumer's HTTP answers and their timing.
	LevelHTTP Level = 1
	// LevelProbe observes the consumer's probe document.
	LevelProbe Level = 2
	// LevelPlatform observes the calls the consumer made to the sandbox.
	LevelPlatform Level = 3
)

// Report is the outcome of a run.
type Report struct {
	Target string `json:"target"`
	// Sandbox is the base URL of the run's sandbox and ClientID the app
	// the consumer calls back into it with ("" when unknown).
	Sandbox   string        `json:"sandbox"`
	ClientID  string        `json:"client_id,omitempty"`
	Started   time.Time     `json:"started"`
	Duration  time.Duration `json:"duration_ns"`
	Scenarios []Result      `json:"scenarios"`
	// NotRun counts the selected scenarios a Config.FailFast run did not
	// reach after its first failure; they are not in Scenarios.
	NotRun int `json:"not_run,omitempty"`
}

// Result is the outcome of one scenario, with its evidence.
type Result struct {
	Name    string `json:"name"`
	Title   string `json:"title"`
	Detects string `json:"detects"`
	Why     string `json:"why"`
	// Category is the scenario's (Scenario.Category).
	Category Category `json:"category,omitempty"`
	Status   Status   `json:"status"`
	// Reason explains an unverified scenario or a failed step.
	Reason   string        `json:"reason,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	// Settle is how long the consumer took to settle, at the slowest check
	// point: from the deliveries going idle to its probe and write-backs
	// no longer changing (0 for a consumer that applies before it answers).
	Settle time.Duration `json:"settle_ns"`
	// Sent lists what the runner did, in order.
	Sent       []string   `json:"sent"`
	Deliveries []Delivery `json:"deliveries"`
	Checks     []Check    `json:"checks"`
	// ConsumerOutput is, for a scenario that failed, the last lines the
	// consumer wrote on stdout and stderr while it ran (an Exec consumer).
	ConsumerOutput string `json:"consumer_output,omitempty"`
}

// Delivery is the evidence of one event's delivery: every request the
// engine made and what came back.
type Delivery struct {
	Label    string    `json:"label"`
	EventID  string    `json:"event_id"`
	Topic    string    `json:"topic"`
	Status   string    `json:"status"`
	Attempts []Attempt `json:"attempts"`
}

// Attempt is one request of a delivery.
type Attempt struct {
	Number    int    `json:"number"`
	Trigger   string `json:"trigger"`
	Duplicate bool   `json:"duplicate,omitempty"`
	// Status is the consumer's answer (0 when none came back).
	Status     int    `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	Error      string `json:"error,omitempty"`
	FaultRule  string `json:"fault_rule,omitempty"`
	// Headers are the request's headers as the sandbox sent them, by
	// lower-case name: webhook-id, webhook-timestamp (this attempt's
	// signing time), webhook-signature, content-type, user-agent.
	Headers map[string]string `json:"headers,omitempty"`
}

// Check is one verified expectation.
type Check struct {
	// At is "end" or the step the check ran after ("step 2").
	At     string `json:"at"`
	Level  Level  `json:"level"`
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Detail holds the failure or the go-cmp diff (-want +got).
	Detail string `json:"detail,omitempty"`
}

// Totals counts the scenarios of a report by verdict.
type Totals struct {
	Passed     int `json:"passed"`
	Failed     int `json:"failed"`
	Unverified int `json:"unverified"`
	Skipped    int `json:"skipped"`
}

// Totals tallies the scenarios by status.
func (r *Report) Totals() Totals {
	var t Totals
	for _, s := range r.Scenarios {
		switch s.Status {
		case StatusPass:
			t.Passed++
		case StatusFail:
			t.Failed++
		case StatusSkipped:
			t.Skipped++
		default:
			t.Unverified++
		}
	}
	return t
}

// Score is the share of the scenarios that ran which passed: skipped ones
// are not required, unverified ones are not proven. ok is false when no
// scenario ran.
func (r *Report) Score() (score float64, ok bool) {
	t := r.Totals()
	required := t.Passed + t.Failed + t.Unverified
	if required == 0 {
		return 0, false
	}
	return float64(t.Passed) / float64(required), true
}

// MarshalJSON adds the totals, the score (absent when no scenario ran)
// and the same per category to the report's fields, so readers of the
// file need not recount.
func (r Report) MarshalJSON() ([]byte, error) {
	type fields Report // without this method
	out := struct {
		fields
		Totals     Totals          `json:"totals"`
		Score      *float64        `json:"score,omitempty"`
		Categories []CategoryScore `json:"categories"`
	}{fields: fields(r), Totals: r.Totals(), Categories: r.Categories()}
	if score, ok := r.Score(); ok {
		out.Score = &score
	}
	return json.Marshal(out)
}

// Counts tallies the scenarios by status; skipped ones are in none.
func (r *Report) Counts() (pass, fail, unverified int) {
	t := r.Totals()
	return t.Passed, t.Failed, t.Unverified
}

// Failed reports whether any scenario failed.
func (r *Report) Failed() bool {
	_, fail, _ := r.Counts()
	return fail > 0
}

// verdict folds check statuses: any failure fails, then any unverified.
func verdict(checks []Check) Status {
	st := StatusPass
	for _, c := range checks {
		switch c.Status {
		case StatusFail:
			return StatusFail
		case StatusUnverified:
			st = StatusUnverified
		}
	}
	return st
}
