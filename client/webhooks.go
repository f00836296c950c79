package client

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// WebhooksAPI is the webhooks API (specs/webhooks.yaml), called with a
// tenant administrator's token or an access token with webhooks:read or
// webhooks:write (WithToken).
type WebhooksAPI struct{ c *Client }

// WebhookCreate subscribes an endpoint to topics of the event catalog.
type WebhookCreate struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description,omitempty"`
}

// WebhookUpdate changes a webhook; nil or empty fields are left as they
// are. Status "enabled" or "disabled" switches the endpoint.
type WebhookUpdate struct {
	URL         string   `json:"url,omitempty"`
	Events      []string `json:"events,omitempty"`
	Description *string  `json:"description,omitempty"`
	Status      string   `json:"status,omitempty"`
}

// Webhook is a subscription; its secret is shown only on creation and
// rotation.
type Webhook struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description"`
	// Status is "enabled" or "disabled".
	Status string `json:"status"`
	// DisabledReason and DisabledAt say why and when the endpoint was
	// disabled (nil while enabled).
	DisabledReason *string    `json:"disabled_reason"`
	DisabledAt     *time.Time `json:"disabled_at"`
	// PreviousSecretExpiresAt, while in the future, is when deliveries
	// stop being signed with the previous secret too.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

// WebhookWithSecret is a webhook as created, with its signing secret.
type WebhookWithSecret struct {
	Webhook
	Secret string `json:"secret"`
}

// WebhookSecretRotation rotates a webhook's signing secret: the previous
// one keeps signing PreviousSecretExpiresIn seconds (nil: a day; 0 drops
// it now).
type WebhookSecretRotation struct {
	PreviousSecretExpiresIn *int `json:"previous_secret_expires_in,omitempty"`
}

// RotatedWebhookSecret is the answer of a webhook secret rotation.
type RotatedWebhookSecret struct {
	ID                      string     `json:"id"`
	Secret                  string     `json:"secret"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
}

// EventType is a topic of the event catalog with the JSON Schema and an
// example of its data.
type EventType struct {
	Type string `json:"type"`
	// Name and Description are display text in the answer's
	// Content-Language (Accept-Language, else the tenant's locale);
	// Type, Schema and Example are canonical English in every locale.
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Schema      map[string]any `json:"schema"`
	Example     map[string]any `json:"example"`
}

// Event is the body POSTed to endpoints, exactly as signed.
type Event struct {
	// ID is also the webhook-id header, stable across retries.
	ID   string `json:"id"`
	Type string `json:"type"`
	// Timestamp is when the event happened, on the sandbox clock.
	Timestamp time.Time       `json:"timestamp"`
	Tenant    string          `json:"tenant"`
	Data      json.RawMessage `json:"data"`
}

// DeliveryStatus is the state of a delivery.
type DeliveryStatus string

// Delivery states.
const (
	DeliveryPending   DeliveryStatus = "pending"
	DeliverySucceeded DeliveryStatus = "succeeded"
	DeliveryFailed    DeliveryStatus = "failed"
)

// ErrorClass classifies a failed attempt.
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

// Attempt is one request of a delivery, or a duplicate copy of one.
type Attempt struct {
	Number int `json:"number"`
	// Trigger is initial, retry, redelivery or test.
	Trigger    string    `json:"trigger"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
	// RequestHeaders are the headers sent, by lower-case name
	// (webhook-timestamp as this attempt was signed); nil when no request
	// was sent.
	RequestHeaders map[string]string `json:"request_headers"`
	// ResponseStatus is nil when no answer came back.
	ResponseStatus *int `json:"response_status"`
	// ResponseBody is the first KiB of the answer.
	ResponseBody string `json:"response_body"`
	// Outcome is "succeeded" or "failed".
	Outcome string        `json:"outcome"`
	Error   *AttemptError `json:"error"`
	// FaultRule names the fault rule that shaped the attempt.
	FaultRule *string `json:"fault_rule"`
	// Duplicate marks a copy sent by a duplicate fault; it does not
	// decide the outcome.
	Duplicate bool `json:"duplicate"`
}

// AttemptError is why an attempt failed.
type AttemptError struct {
	Class   ErrorClass `json:"class"`
	Message string     `json:"message"`
}

// DeliverySummary is a delivery as listed, with its latest attempt.
type DeliverySummary struct {
	ID            string         `json:"id"`
	WebhookID     string         `json:"webhook_id"`
	EventID       string         `json:"event_id"`
	EventType     string         `json:"event_type"`
	Status        DeliveryStatus `json:"status"`
	AttemptCount  int            `json:"attempt_count"`
	NextAttemptAt *time.Time     `json:"next_attempt_at"`
	LastAttempt   *Attempt       `json:"last_attempt"`
	CreatedAt     time.Time      `json:"created_at"`
	UpdatedAt     time.Time      `json:"updated_at"`
}

// Delivery is one event on its way to one webhook, with every attempt.
type Delivery struct {
	ID        string         `json:"id"`
	WebhookID string         `json:"webhook_id"`
	Event     Event          `json:"event"`
	Status    DeliveryStatus `json:"status"`
	// AttemptCount counts attempts made, duplicate copies excluded; the
	// latest 50 are in Attempts, oldest first.
	AttemptCount  int        `json:"attempt_count"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	Attempts      []Attempt  `json:"attempts"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// TestResult is the outcome of a test event's first attempt (nil when a
// fault rule delayed or held it).
type TestResult struct {
	Success    bool     `json:"success"`
	EventID    string   `json:"event_id"`
	DeliveryID string   `json:"delivery_id"`
	Attempt    *Attempt `json:"attempt"`
}

// DeliveryFilter narrows and pages a webhook's deliveries.
type DeliveryFilter struct {
	ListOptions
	Status    DeliveryStatus
	EventType string
	EventID   string
}

// Create subscribes an endpoint; the answer carries its signing secret.
func (w WebhooksAPI) Create(ctx context.Context, r WebhookCreate) (WebhookWithSecret, error) {
	var out WebhookWithSecret
	err := w.c.tenant(ctx, http.MethodPost, "/v1/webhooks", nil, r, http.StatusCreated, &out)
	return out, err
}

// List lists the tenant's webhooks, oldest first, a page at a time.
func (w WebhooksAPI) List(ctx context.Context, o ListOptions) (Page[Webhook], error) {
	var out Page[Webhook]
	err := w.c.tenant(ctx, http.MethodGet, "/v1/webhooks", o.values(), nil, http.StatusOK, &out)
	return out, err
}

// Get reads one webhook.
func (w WebhooksAPI) Get(ctx context.Context, id string) (Webhook, error) {
	var out Webhook
	err := w.c.tenant(ctx, http.MethodGet, "/v1/webhooks/"+escape(id), nil, nil, http.StatusOK, &out)
	return out, err
}

// Update changes a webhook.
func (w WebhooksAPI) Update(ctx context.Context, id string, u WebhookUpdate) (Webhook, error) {
	var out Webhook
	err := w.c.tenant(ctx, http.MethodPatch, "/v1/webhooks/"+escape(id), nil, u, http.StatusOK, &out)
	return out, err
}

// Delete deletes a webhook with its diagnostics; pending retries stop.
func (w WebhooksAPI) Delete(ctx context.Context, id string) error {
	return w.c.tenant(ctx, http.MethodDelete, "/v1/webhooks/"+escape(id), nil, nil, http.StatusNoContent, nil)
}

// RotateSecret issues a new signing secret.
func (w WebhooksAPI) RotateSecret(ctx context.Context, id string, r WebhookSecretRotation) (RotatedWebhookSecret, error) {
	var out RotatedWebhookSecret
	err := w.c.tenant(ctx, http.MethodPost, "/v1/webhooks/"+escape(id)+"/rotate-secret", nil, r, http.StatusOK, &out)
	return out, err
}

// Test sends a webhook.test event to the endpoint and reports the first
// attempt.
func (w WebhooksAPI) Test(ctx context.Context, id string) (TestResult, error) {
	var out TestResult
	err := w.c.tenant(ctx, http.MethodPost, "/v1/webhooks/"+escape(id)+"/test", nil, nil, http.StatusOK, &out)
	return out, err
}

// EventTypes lists the event catalog.
func (w WebhooksAPI) EventTypes(ctx context.Context) ([]EventType, error) {
	var out list[EventType]
	err := w.c.tenant(ctx, http.MethodGet, "/v1/webhooks/event-types", nil, nil, http.StatusOK, &out)
	return out.Data, err
}

// Deliveries lists a webhook's deliveries, newest first, a page at a time.
func (w WebhooksAPI) Deliveries(ctx context.Context, webhookID string, f DeliveryFilter) (Page[DeliverySummary], error) {
	q := f.values()
	for k, v := range map[string]string{"status": string(f.Status), "event_type": f.EventType, "event_id": f.EventID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var out Page[DeliverySummary]
	err := w.c.tenant(ctx, http.MethodGet, "/v1/webhooks/"+escape(webhookID)+"/deliveries", q, nil, http.StatusOK, &out)
	return out, err
}

// Delivery reads one delivery with every attempt.
func (w WebhooksAPI) Delivery(ctx context.Context, webhookID, deliveryID string) (Delivery, error) {
	var out Delivery
	err := w.c.tenant(ctx, http.MethodGet, "/v1/webhooks/"+escape(webhookID)+"/deliveries/"+escape(deliveryID),
		nil, nil, http.StatusOK, &out)
	return out, err
}

// Redeliver queues one new attempt of the same event (same webhook-id,
// fresh timestamp and signature).
func (w WebhooksAPI) Redeliver(ctx context.Context, webhookID, deliveryID string) (Delivery, error) {
	var out Delivery
	err := w.c.tenant(ctx, http.MethodPost, "/v1/webhooks/"+escape(webhookID)+"/deliveries/"+escape(deliveryID)+"/redeliver",
		nil, nil, http.StatusAccepted, &out)
	return out, err
}

// RecoverRequest is the window of a recovery (schema RecoverRequest).
type RecoverRequest struct {
	Since time.Time `json:"since"`
	// Until is now when nil.
	Until *time.Time `json:"until,omitempty"`
}

// Recovery is the answer of a recover (schema Recovery).
type Recovery struct {
	RecoveryID string    `json:"recovery_id"`
	WebhookID  string    `json:"webhook_id"`
	Since      time.Time `json:"since"`
	Until      time.Time `json:"until"`
	// Deliveries counts the failed deliveries queued again.
	Deliveries int `json:"deliveries"`
}

// Recover queues one new attempt of every failed delivery of the webhook
// in the window (same webhook-id and body); while a recovery of the webhook
// is still running, it answers that one.
func (w WebhooksAPI) Recover(ctx context.Context, webhookID string, in RecoverRequest) (Recovery, error) {
	var out Recovery
	err := w.c.tenant(ctx, http.MethodPost, "/v1/webhooks/"+escape(webhookID)+"/recover", nil, in, http.StatusAccepted, &out)
	return out, err
}
