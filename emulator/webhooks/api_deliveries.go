package webhooks

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// deliveryJSON is the wire form of a delivery (schema Delivery).
type deliveryJSON struct {
	ID            string          `json:"id"`
	WebhookID     string          `json:"webhook_id"`
	Event         json.RawMessage `json:"event"`
	Status        DeliveryStatus  `json:"status"`
	AttemptCount  int             `json:"attempt_count"`
	NextAttemptAt *time.Time      `json:"next_attempt_at"`
	Attempts      []Attempt       `json:"attempts"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

func toDeliveryJSON(d Delivery) deliveryJSON {
	attempts := d.Attempts
	if attempts == nil {
		attempts = []Attempt{}
	}
	return deliveryJSON{
		ID: d.ID, WebhookID: d.WebhookID, Event: d.Body, Status: d.Status, AttemptCount: d.AttemptCount,
		NextAttemptAt: nextAttempt(d), Attempts: attempts, CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
	}
}

func nextAttempt(d Delivery) *time.Time {
	if d.Finished() {
		return nil
	}
	return timePtr(d.NextAttemptAt)
}

// deliverySummaryJSON is a delivery in a list (schema DeliverySummary).
type deliverySummaryJSON struct {
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

func (s *Service) handleListDeliveries(w http.ResponseWriter, r *http.Request) {
	before, err := decodeCursor(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	limit := limitOf(r)
	list, err := s.Deliveries(r.Context(), tenantOf(r), r.PathValue("webhook_id"), DeliveryFilter{
		Status: DeliveryStatus(q.Get("status")), EventType: q.Get("event_type"), EventID: q.Get("event_id"),
		Before: before, Limit: limit + 1,
	})
	if err != nil {
		s.writeError(w, r, notFound(err, "webhook"))
		return
	}
	out := page[deliverySummaryJSON]{Data: []deliverySummaryJSON{}}
	for i, d := range list {
		if i == limit {
			c := encodeCursor(list[i-1].Seq)
			out.NextCursor = &c
			break
		}
		out.Data = append(out.Data, deliverySummaryJSON{
			ID: d.ID, WebhookID: d.WebhookID, EventID: d.Event.ID, EventType: d.Event.Type, Status: d.Status,
			AttemptCount: d.AttemptCount, NextAttemptAt: nextAttempt(d), LastAttempt: d.LastAttempt(),
			CreatedAt: d.CreatedAt.UTC(), UpdatedAt: d.UpdatedAt.UTC(),
		})
	}
	core.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleGetDelivery(w http.ResponseWriter, r *http.Request) {
	d, err := s.Delivery(r.Context(), tenantOf(r), r.PathValue("webhook_id"), r.PathValue("delivery_id"))
	if err != nil {
		s.writeError(w, r, notFound(err, "delivery"))
		return
	}
	core.WriteJSON(w, http.StatusOK, toDeliveryJSON(d))
}

func (s *Service) handleRedeliver(w http.ResponseWriter, r *http.Request) {
	d, err := s.Redeliver(r.Context(), tenantOf(r), r.PathValue("webhook_id"), r.PathValue("delivery_id"))
	if err != nil {
		s.writeError(w, r, notFound(err, "delivery"))
		return
	}
	core.WriteJSON(w, http.StatusAccepted, toDeliveryJSON(d))
}

func (s *Service) handleTest(w http.ResponseWriter, r *http.Request) {
	res, err := s.Test(r.Context(), tenantOf(r), r.PathValue("webhook_id"))
	if err != nil {
		s.writeError(w, r, notFound(err, "webhook"))
		return
	}
	core.WriteJSON(w, http.StatusOK, map[string]any{
		"success":     res.Attempt != nil && res.Attempt.Succeeded(),
		"event_id":    res.EventID,
		"delivery_id": res.DeliveryID,
		"attempt":     res.Attempt,
	})
}
