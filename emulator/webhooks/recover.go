package webhooks

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Recovery bounds; README ("Webhooks", recover) documents them.
const (
	// MaxRecoverDeliveries bounds the deliveries one recover queues (the
	// oldest of the window first; a second recover picks up the rest).
	MaxRecoverDeliveries = 10000
	// MaxRecoverAge is how far back a recovery window may start.
	MaxRecoverAge = 14 * 24 * time.Hour
)

// AuditTrail records management actions in the tenant's audit trail (the
// platform's, in the wiring). Nil records nothing.
type AuditTrail interface {
	RecordAudit(ctx context.Context, p *core.Principal, action, target string, details map[string]any)
}

// Recovery is a re-send of a webhook's failed deliveries in a window
// (Svix's "recover").
type Recovery struct {
	ID         string
	WebhookID  string
	Since      time.Time
	Until      time.Time
	Deliveries int
	// ids are the deliveries queued; the recovery runs while one of them
	// is pending.
	ids []string
}

// recoveries remembers the latest recovery of each webhook, so a recover
// sent again while one runs answers it instead of queuing twice. A
// webhook's entry goes with the webhook (Delete, DeleteTenant): the map
// holds at most one recovery per existing webhook.
type recoveries struct {
	mu     sync.Mutex // serialises recovers: check, queue, record
	latest map[string]*Recovery
}

func recoveryKey(tenant, webhookID string) string { return tenant + "\x00" + webhookID }

func invalidWindow(field, reason string) error {
	return core.NewProblem(http.StatusBadRequest, "invalid_request", "Invalid request", field+": "+reason).WithField(field, reason)
}

// Recover queues one new attempt of every failed delivery of the webhook
// whose event was published in [since, until) (until zero: now), oldest
// first and at most MaxRecoverDeliveries. running reports that a recovery
// of the webhook was still running: it is returned and nothing is queued.
func (s *Service) Recover(ctx context.Context, tenant, webhookID string, since, until time.Time) (rec Recovery, running bool, err error) {
	now := s.clockOf(tenant).Now()
	switch {
	case since.After(now):
		return Recovery{}, false, invalidWindow("/since", "must not be in the future")
	case since.Before(now.Add(-MaxRecoverAge)):
		return Recovery{}, false, invalidWindow("/since", "must be at most 14 days ago")
	case !until.IsZero() && !until.After(since):
		return Recovery{}, false, invalidWindow("/until", "must be after since")
	}
	if until.IsZero() {
		until = now
	}
	w, err := s.store.GetWebhook(ctx, tenant, webhookID)
	if err != nil {
		return Recovery{}, false, err
	}
	if w.Disabled {
		return Recovery{}, false, errDisabledProblem()
	}
	s.recov.mu.Lock()
	defer s.recov.mu.Unlock()
	key := recoveryKey(tenant, webhookID)
	if prev := s.recov.latest[key]; prev != nil && s.pendingAny(ctx, tenant, webhookID, prev.ids) {
		return *prev, true, nil
	}
	failed, err := s.store.ListDeliveries(ctx, tenant, webhookID, DeliveryFilter{Status: StatusFailed})
	if err != nil {
		return Recovery{}, false, err
	}
	slices.Reverse(failed) // oldest first
	rec = Recovery{ID: s.ids.New("rcv"), WebhookID: webhookID, Since: since.UTC(), Until: until.UTC()}
	errSkip := errors.New("no longer failed")
	for _, d := range failed {
		if len(rec.ids) == MaxRecoverDeliveries {
			break
		}
		if ts := d.Event.Timestamp; ts.Before(since) || !ts.Before(until) {
			continue
		}
		redelivered, err := s.store.UpdateDelivery(ctx, tenant, webhookID, d.ID, func(d *Delivery) error {
			if d.Status != StatusFailed {
				return errSkip
			}
			d.Status, d.NextAttemptAt, d.UpdatedAt = StatusPending, now, now
			d.LeaseOwner, d.LeaseUntil = s.owner, s.leaseUntil()
			return nil
		})
		if err != nil {
			continue // redelivered or evicted meanwhile
		}
		rec.ids = append(rec.ids, d.ID)
		s.disp.enqueue(job{tenant: tenant, webhookID: webhookID, deliveryID: d.ID, trigger: TriggerRedelivery, held: &redelivered})
	}
	rec.Deliveries = len(rec.ids)
	s.recov.latest[key] = &rec
	return rec, false, nil
}

// pendingAny reports whether one of the deliveries is still pending.
func (s *Service) pendingAny(ctx context.Context, tenant, webhookID string, ids []string) bool {
	for _, id := range ids {
		if d, err := s.store.GetDelivery(ctx, tenant, webhookID, id); err == nil && d.Status == StatusPending {
			return true
		}
	}
	return false
}

// forgetRecoveries forgets the latest recovery of the tenant's webhook id,
// or of every webhook of the tenant when id is "".
func (s *Service) forgetRecoveries(tenant, id string) {
	s.recov.mu.Lock()
	defer s.recov.mu.Unlock()
	if id != "" {
		delete(s.recov.latest, recoveryKey(tenant, id))
		return
	}
	prefix := recoveryKey(tenant, "")
	for key := range s.recov.latest {
		if strings.HasPrefix(key, prefix) {
			delete(s.recov.latest, key)
		}
	}
}

// resetRecoveries forgets every recovery (Reset).
func (s *Service) resetRecoveries() {
	s.recov.mu.Lock()
	s.recov.latest = map[string]*Recovery{}
	s.recov.mu.Unlock()
}

type recoveryJSON struct {
	RecoveryID string    `json:"recovery_id"`
	WebhookID  string    `json:"webhook_id"`
	Since      time.Time `json:"since"`
	Until      time.Time `json:"until"`
	Deliveries int       `json:"deliveries"`
}

func (s *Service) handleRecover(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Since time.Time  `json:"since"`
		Until *time.Time `json:"until"`
	}
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	var until time.Time
	if body.Until != nil {
		until = *body.Until
	}
	rec, running, err := s.Recover(r.Context(), tenantOf(r), r.PathValue("webhook_id"), body.Since, until)
	if err != nil {
		s.writeError(w, r, notFound(err, "webhook"))
		return
	}
	if !running && s.audit != nil {
		if p := core.PrincipalFrom(r.Context()); p != nil {
			s.audit.RecordAudit(r.Context(), p, "webhook.recovered", rec.WebhookID, map[string]any{
				"recovery_id": rec.ID, "since": rec.Since, "until": rec.Until, "deliveries": rec.Deliveries})
		}
	}
	core.WriteJSON(w, http.StatusAccepted, recoveryJSON{rec.ID, rec.WebhookID, rec.Since, rec.Until, rec.Deliveries})
}
