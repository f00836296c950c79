package webhooks

import (
	"net/http"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// webhookJSON is the wire form of a webhook (schema Webhook).
type webhookJSON struct {
	ID                      string     `json:"id"`
	URL                     string     `json:"url"`
	Events                  []string   `json:"events"`
	Description             string     `json:"description"`
	Status                  string     `json:"status"`
	DisabledReason          *string    `json:"disabled_reason"`
	DisabledAt              *time.Time `json:"disabled_at"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

func (s *Service) webhookJSON(w Webhook) webhookJSON {
	status := "enabled"
	if w.Disabled {
		status = "disabled"
	}
	var prev *time.Time
	if w.PreviousSecret != "" && s.clockOf(w.Tenant).Now().Before(w.PreviousSecretExpires) {
		prev = timePtr(w.PreviousSecretExpires)
	}
	return webhookJSON{
		ID: w.ID, URL: w.URL, Events: w.Events, Description: w.Description, Status: status,
		DisabledReason: strPtr(w.DisabledReason), DisabledAt: timePtr(w.DisabledAt), PreviousSecretExpiresAt: prev,
		CreatedAt: w.CreatedAt.UTC(), UpdatedAt: w.UpdatedAt.UTC(),
	}
}

// webhookEvent is the data of webhook.created, .updated and .deleted.
func (s *Service) webhookEvent(r *http.Request, w Webhook) map[string]any {
	j := s.webhookJSON(w)
	return map[string]any{
		"webhook": map[string]any{"id": j.ID, "url": j.URL, "events": j.Events, "status": j.Status},
		"actor":   actorOf(r),
	}
}

// emit publishes a management event; a failure to emit never fails the
// change that caused it.
func (s *Service) emit(r *http.Request, topic string, data map[string]any) {
	if _, err := s.Publish(r.Context(), tenantOf(r), topic, data); err != nil {
		core.Logger(r.Context(), s.log).Warn("emit webhook event", "topic", topic, "err", err)
	}
}

func (s *Service) handleCreate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		URL         string   `json:"url"`
		Events      []string `json:"events"`
		Description string   `json:"description"`
	}
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	hook, err := s.Subscribe(r.Context(), tenantOf(r), Subscription{URL: body.URL, Events: body.Events, Description: body.Description})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.emit(r, "webhook.created", s.webhookEvent(r, hook))
	w.Header().Set("Location", "/v1/webhooks/"+hook.ID)
	core.WriteSecretJSON(w, http.StatusCreated, struct {
		webhookJSON
		Secret string `json:"secret"`
	}{s.webhookJSON(hook), hook.Secret})
}

func (s *Service) handleList(w http.ResponseWriter, r *http.Request) {
	after, err := decodeCursor(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	hooks, err := s.Webhooks(r.Context(), tenantOf(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := limitOf(r)
	out := page[webhookJSON]{Data: []webhookJSON{}}
	for _, h := range hooks {
		if h.Seq <= after {
			continue
		}
		if len(out.Data) == limit {
			c := encodeCursor(after)
			out.NextCursor = &c
			break
		}
		out.Data = append(out.Data, s.webhookJSON(h))
		after = h.Seq
	}
	core.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) handleEventTypes(w http.ResponseWriter, r *http.Request) {
	type eventType struct {
		Type        string         `json:"type"`
		Name        string         `json:"name"`
		Description string         `json:"description"`
		Schema      map[string]any `json:"schema"`
		Example     map[string]any `json:"example"`
	}
	// Name and description are display text in the request's locale;
	// the topic, schema and example are canonical English in all of them,
	// so an integrator keys off the topic, never off the text.
	lang := core.Locale(r)
	out := make([]eventType, 0, len(s.catalog.types))
	for i := range s.catalog.types {
		t := &s.catalog.types[i]
		text := t.Text(lang)
		out = append(out, eventType{Type: t.Type, Name: text.Name, Description: text.Description, Schema: t.Schema, Example: t.Example})
	}
	core.SetContentLanguage(w, lang)
	core.WriteJSON(w, http.StatusOK, map[string]any{"data": out})
}

func (s *Service) handleGet(w http.ResponseWriter, r *http.Request) {
	hook, err := s.Webhook(r.Context(), tenantOf(r), r.PathValue("webhook_id"))
	if err != nil {
		s.writeError(w, r, notFound(err, "webhook"))
		return
	}
	core.WriteJSON(w, http.StatusOK, s.webhookJSON(hook))
}

func (s *Service) handleUpdate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		URL         *string  `json:"url"`
		Events      []string `json:"events"`
		Description *string  `json:"description"`
		Status      *string  `json:"status"`
	}
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	change := WebhookChange{URL: body.URL, Events: body.Events, Description: body.Description}
	if body.Status != nil {
		enabled := *body.Status == "enabled"
		change.Enabled = &enabled
	}
	hook, err := s.Update(r.Context(), tenantOf(r), r.PathValue("webhook_id"), change)
	if err != nil {
		s.writeError(w, r, notFound(err, "webhook"))
		return
	}
	s.emit(r, "webhook.updated", s.webhookEvent(r, hook))
	core.WriteJSON(w, http.StatusOK, s.webhookJSON(hook))
}

func (s *Service) handleDelete(w http.ResponseWriter, r *http.Request) {
	tenant, id := tenantOf(r), r.PathValue("webhook_id")
	hook, err := s.Webhook(r.Context(), tenant, id)
	if err == nil {
		err = s.Delete(r.Context(), tenant, id)
	}
	if err != nil {
		s.writeError(w, r, notFound(err, "webhook"))
		return
	}
	data := s.webhookEvent(r, hook)
	data["webhook"].(map[string]any)["status"] = "deleted"
	s.emit(r, "webhook.deleted", data)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) handleRotate(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ExpiresIn *int64 `json:"previous_secret_expires_in"`
	}
	if err := decode(r, &body); err != nil {
		s.writeError(w, r, err)
		return
	}
	window := s.cfg.RotationWindow
	if body.ExpiresIn != nil {
		window = time.Duration(*body.ExpiresIn) * time.Second
	}
	hook, secret, err := s.rotate(r.Context(), tenantOf(r), r.PathValue("webhook_id"), "", window)
	if err != nil {
		s.writeError(w, r, notFound(err, "webhook"))
		return
	}
	core.WriteSecretJSON(w, http.StatusOK, map[string]any{
		"id": hook.ID, "secret": secret, "previous_secret_expires_at": s.webhookJSON(hook).PreviousSecretExpiresAt,
	})
}
