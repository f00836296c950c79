package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Subscription describes a webhook to create.
type Subscription struct {
	URL         string
	Events      []string
	Description string
	// Secret, when set (whsec_ + base64 of 24 to 64 bytes), replaces the
	// generated signing secret, so a conformance run can verify with a
	// secret it knows.
	Secret string
}

// Subscribe creates a webhook of tenant, validating it exactly as the
// management API does. Refusals are *core.Problem values (unknown_event_type,
// invalid_url, limit_reached). The returned webhook carries its secret.
func (s *Service) Subscribe(ctx context.Context, tenant string, sub Subscription) (Webhook, error) {
	if err := s.checkEvents(sub.Events); err != nil {
		return Webhook{}, err
	}
	if err := s.checkURL(sub.URL); err != nil {
		return Webhook{}, err
	}
	secret := sub.Secret
	if secret == "" {
		secret = newSecret(s.ids.Bytes(secretBytes))
	} else if _, err := secretKey(secret); err != nil {
		return Webhook{}, core.NewProblem(http.StatusBadRequest, "invalid_request", "Invalid signing secret",
			"the secret must be whsec_ followed by the base64 of 24 to 64 bytes").WithField("/secret", "malformed secret")
	}
	now := s.clockOf(tenant).Now().UTC()
	// The store checks the tenant's limit inside its write: a count taken
	// here first would let concurrent creates all pass it.
	w, err := s.store.CreateWebhook(ctx, Webhook{
		ID: s.ids.New("wh"), Tenant: tenant, URL: sub.URL, Description: sub.Description,
		Events: slices.Clone(sub.Events), Secret: secret, CreatedAt: now, UpdatedAt: now,
	})
	var le *core.LimitError
	if errors.As(err, &le) {
		return Webhook{}, le.Problem()
	}
	return w, err
}

// checkEvents refuses topics outside the catalog, naming each one.
func (s *Service) checkEvents(events []string) error {
	var p *core.Problem
	for i, e := range events {
		if s.catalog.has(e) {
			continue
		}
		if p == nil {
			p = core.NewProblem(http.StatusBadRequest, "unknown_event_type", "Unknown event type",
				fmt.Sprintf("%q is not a topic of the event catalog (GET /v1/webhooks/event-types lists them)", e))
		}
		p.WithField(fmt.Sprintf("/events/%d", i), fmt.Sprintf("unknown event type %q", e))
	}
	if p != nil {
		return p
	}
	if len(events) == 0 {
		return core.NewProblem(http.StatusBadRequest, "invalid_request", "Invalid request",
			"subscribe to at least one topic").WithField("/events", "at least one topic is required")
	}
	return nil
}

func (s *Service) checkURL(raw string) error {
	if err := s.policy.validateURL(raw); err != nil {
		return core.NewProblem(http.StatusBadRequest, "invalid_url", "Invalid webhook URL",
			"url: "+err.Error()).WithField("/url", err.Error())
	}
	return nil
}

// WebhookChange is a partial update; nil fields stay as they are.
type WebhookChange struct {
	URL         *string
	Events      []string
	Description *string
	// Enabled re-enables (clearing the disabled reason and the failure
	// run) or disables the endpoint.
	Enabled *bool
}

// Update changes a webhook of tenant.
func (s *Service) Update(ctx context.Context, tenant, id string, c WebhookChange) (Webhook, error) {
	if c.Events != nil {
		if err := s.checkEvents(c.Events); err != nil {
			return Webhook{}, err
		}
	}
	if c.URL != nil {
		if err := s.checkURL(*c.URL); err != nil {
			return Webhook{}, err
		}
	}
	now := s.clockOf(tenant).Now().UTC()
	disabling := false
	w, err := s.store.UpdateWebhook(ctx, tenant, id, func(w *Webhook) error {
		disabling = c.Enabled != nil && !*c.Enabled && !w.Disabled
		if c.URL != nil {
			w.URL = *c.URL
		}
		if c.Events != nil {
			w.Events = slices.Clone(c.Events)
		}
		if c.Description != nil {
			w.Description = *c.Description
		}
		if c.Enabled != nil {
			switch {
			case *c.Enabled && w.Disabled:
				w.Disabled, w.DisabledReason, w.DisabledAt, w.FailingSince = false, "", time.Time{}, time.Time{}
			case !*c.Enabled && !w.Disabled:
				w.Disabled, w.DisabledReason, w.DisabledAt = true, "disabled by request", now
			}
		}
		w.UpdatedAt = now
		return nil
	})
	if err == nil && disabling {
		// Pending deliveries end now, visibly, rather than at their next
		// scheduled attempt.
		s.failPending(ctx, w)
	}
	return w, err
}

// rotate replaces the signing secret; the previous one keeps signing for
// window (0 drops it at once). newSecret, when set, is used as the new
// secret. It returns the webhook and the new secret.
func (s *Service) rotate(ctx context.Context, tenant, id, secret string, window time.Duration) (Webhook, string, error) {
	if secret == "" {
		secret = newSecret(s.ids.Bytes(secretBytes))
	} else if _, err := secretKey(secret); err != nil {
		return Webhook{}, "", err
	}
	now := s.clockOf(tenant).Now().UTC()
	w, err := s.store.UpdateWebhook(ctx, tenant, id, func(w *Webhook) error {
		w.PreviousSecret, w.PreviousSecretExpires = w.Secret, now.Add(window)
		if window <= 0 {
			w.PreviousSecret, w.PreviousSecretExpires = "", time.Time{}
		}
		w.Secret, w.UpdatedAt = secret, now
		return nil
	})
	return w, secret, err
}

// RotateSecret rotates a webhook's signing secret (see the management
// API); secret may be "" for a generated one.
func (s *Service) RotateSecret(ctx context.Context, tenant, id, secret string, window time.Duration) (Webhook, error) {
	w, _, err := s.rotate(ctx, tenant, id, secret, window)
	return w, err
}
