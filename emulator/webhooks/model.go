package webhooks

import (
	"encoding/json"
	"time"
)

// Webhook is a subscription of an endpoint to topics of the event catalog.
type Webhook struct {
	ID          string
	Tenant      string
	URL         string
	Description string
	Events      []string
	// Disabled endpoints receive nothing; DisabledReason says why.
	Disabled       bool
	DisabledReason string
	DisabledAt     time.Time
	// Secret is the current signing secret (whsec_ + base64).
	Secret string
	// PreviousSecret also signs deliveries until PreviousSecretExpires.
	PreviousSecret        string
	PreviousSecretExpires time.Time
	// FailingSince is when the endpoint's current run of failed attempts
	// began; zero after a success.
	FailingSince time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Seq orders webhooks by creation; the store assigns it.
	Seq uint64
}

// Subscribed reports whether w receives events of topic.
func (w *Webhook) Subscribed(topic string) bool {
	for _, e := range w.Events {
		if e == topic {
			return true
		}
	}
	return false
}

// secrets returns the secrets that sign a delivery at now: the current one,
// plus the previous one while its rotation window is open.
func (w *Webhook) secrets(now time.Time) []string {
	out := []string{w.Secret}
	if w.PreviousSecret != "" && now.Before(w.PreviousSecretExpires) {
		out = append(out, w.PreviousSecret)
	}
	return out
}

// DeliveryStatus is the state of a delivery.
type DeliveryStatus string

// Delivery states.
const (
	StatusPending   DeliveryStatus = "pending"
	StatusSucceeded DeliveryStatus = "succeeded"
	StatusFailed    DeliveryStatus = "failed"
)

// Trigger says why an attempt was made.
type Trigger string

// Attempt triggers.
const (
	TriggerInitial    Trigger = "initial"
	TriggerRetry      Trigger = "retry"
	TriggerRedelivery Trigger = "redelivery"
	TriggerTest       Trigger = "test"
)

// ErrorClass classifies a failed attempt for diagnostics.
type ErrorClass string

// Error classes of failed attempts.
const (
	ClassConnectionRefused ErrorClass = "connection_refused"
	ClassDNS               ErrorClass = "dns"
	ClassTimeout           ErrorClass = "timeout"
	ClassTLS               ErrorClass = "tls"
	ClassNon2xx            ErrorClass = "non_2xx"
	ClassRedirect          ErrorClass = "redirect_not_followed"
	ClassForbiddenAddress  ErrorClass = "forbidden_address"
	ClassConnection        ErrorClass = "connection_error"
	ClassResponseLost      ErrorClass = "response_lost"
	ClassEndpointDisabled  ErrorClass = "endpoint_disabled"
)

// AttemptError is the classified reason an attempt failed.
type AttemptError struct {
	Class   ErrorClass `json:"class"`
	Message string     `json:"message"`
}

// Attempt is one HTTP request of a delivery (or a duplicate copy of one).
type Attempt struct {
	Number    int       `json:"number"`
	Trigger   Trigger   `json:"trigger"`
	StartedAt time.Time `json:"started_at"`
	// DurationMS is the real time the attempt took (the sandbox clock may
	// have moved meanwhile).
	DurationMS int64 `json:"duration_ms"`
	// RequestHeaders are the headers sent, by lower-case name (nil when
	// nothing was sent); the copies of an attempt share the map, which is
	// never changed once built.
	RequestHeaders map[string]string `json:"request_headers"`
	ResponseStatus *int              `json:"response_status"`
	ResponseBody   string            `json:"response_body"`
	// Outcome is "succeeded" or "failed".
	Outcome   string        `json:"outcome"`
	Error     *AttemptError `json:"error"`
	FaultRule *string       `json:"fault_rule"`
	Duplicate bool          `json:"duplicate"`
	// Timestamp is the webhook-timestamp header sent (Unix seconds).
	Timestamp int64 `json:"-"`
}

// Succeeded reports whether the attempt counts as a success.
func (a *Attempt) Succeeded() bool { return a.Outcome == "succeeded" }

// Event is the body POSTed to endpoints; its JSON form is what is signed.
type Event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Tenant    string          `json:"tenant"`
	Data      json.RawMessage `json:"data"`
}

// Delivery is one event on its way to one webhook, with its attempts.
type Delivery struct {
	ID        string
	WebhookID string
	Tenant    string
	Event     Event
	// Body is the exact JSON sent and signed; it never changes, so
	// retries and redeliveries carry the same bytes.
	Body   []byte
	Status DeliveryStatus
	// Attempts keeps the latest MaxAttemptsKept attempts.
	Attempts []Attempt
	// AttemptCount counts every attempt made (duplicates excluded).
	AttemptCount int
	// AutoAttempts counts attempts that follow the retry schedule.
	AutoAttempts int
	// NextAttemptAt is when the next attempt of a pending delivery is due
	// (sandbox time).
	NextAttemptAt time.Time
	// LeaseOwner is the engine that holds the next attempt of a pending
	// delivery, until LeaseUntil (real time); see Store and Leased.
	LeaseOwner string
	LeaseUntil time.Time
	// HeldIn is, while the delivery is held in a reorder burst (a fault)
	// on a durable store, the shared hold count at which that burst is
	// complete (Store.CountHold), and HoldSeq the count its hold made,
	// its place in the burst; 0 when not held. HeldBy is the engine that
	// holds it: a lease of another engine is a claim for an attempt.
	HeldIn, HoldSeq int64
	HeldBy          string
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Seq orders deliveries; the store assigns it.
	Seq uint64
}

// MaxAttemptsKept bounds the attempts kept per delivery.
const MaxAttemptsKept = 50

// addAttempt records a, keeping the latest MaxAttemptsKept.
func (d *Delivery) addAttempt(a Attempt) {
	d.Attempts = append(d.Attempts, a)
	if n := len(d.Attempts) - MaxAttemptsKept; n > 0 {
		d.Attempts = append([]Attempt(nil), d.Attempts[n:]...)
	}
}

// LastAttempt returns the latest non-duplicate attempt, or nil.
func (d *Delivery) LastAttempt() *Attempt {
	for i := len(d.Attempts) - 1; i >= 0; i-- {
		if !d.Attempts[i].Duplicate {
			return &d.Attempts[i]
		}
	}
	return nil
}

// Finished reports whether the delivery needs no more attempts.
func (d *Delivery) Finished() bool { return d.Status != StatusPending }
