package webhooks

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// API returns the management API of specs/webhooks.yaml: a handler for
// every operationId. Authentication and request validation happen in the
// core router before a handler runs; the tenant always comes from the
// principal.
func (s *Service) API(doc *openapi3.T) core.API {
	return core.API{
		Name: "webhooks",
		Doc:  doc,
		Handlers: map[string]http.Handler{
			"createWebhook":       http.HandlerFunc(s.handleCreate),
			"listWebhooks":        http.HandlerFunc(s.handleList),
			"listEventTypes":      http.HandlerFunc(s.handleEventTypes),
			"getWebhook":          http.HandlerFunc(s.handleGet),
			"updateWebhook":       http.HandlerFunc(s.handleUpdate),
			"deleteWebhook":       http.HandlerFunc(s.handleDelete),
			"rotateWebhookSecret": http.HandlerFunc(s.handleRotate),
			"testWebhook":         http.HandlerFunc(s.handleTest),
			"listDeliveries":      http.HandlerFunc(s.handleListDeliveries),
			"getDelivery":         http.HandlerFunc(s.handleGetDelivery),
			"redeliverDelivery":   http.HandlerFunc(s.handleRedeliver),
			"recoverWebhook":      http.HandlerFunc(s.handleRecover),
		},
		Errors: core.WriteRequestProblem,
	}
}

// writeError is the surface's one error writer: problems pass through,
// store misses become 404, anything else a 500 that hides internals.
func (s *Service) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var p *core.Problem
	switch {
	case errors.As(err, &p):
	case errors.Is(err, ErrNotFound):
		p = core.NotFoundProblem("no such resource in the caller's tenant")
	default:
		core.Logger(r.Context(), s.log).Error("webhooks request failed", "err", err)
		p = core.NewProblem(http.StatusInternalServerError, "internal_error", "Internal Server Error",
			"the sandbox failed while serving this request; quote the request_id when reporting it")
	}
	core.WriteProblem(w, r, p)
}

func tenantOf(r *http.Request) string {
	if p := core.PrincipalFrom(r.Context()); p != nil {
		return p.Tenant
	}
	return ""
}

// actorOf describes the principal in event payloads.
func actorOf(r *http.Request) map[string]any {
	p := core.PrincipalFrom(r.Context())
	if p == nil {
		return map[string]any{"type": "sandbox"}
	}
	switch p.Kind {
	case core.KindAdmin:
		return map[string]any{"type": "admin", "id": p.Tenant}
	case core.KindUser:
		return map[string]any{"type": "user", "id": p.UserID, "client_id": p.ClientID}
	case core.KindApp:
		return map[string]any{"type": "app", "id": p.Subject, "client_id": p.ClientID}
	}
	return map[string]any{"type": "sandbox"}
}

// decode reads a body the router already validated against the spec.
func decode(r *http.Request, v any) error {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		return core.NewProblem(http.StatusBadRequest, "invalid_request", "Invalid request", "the body is not valid JSON").
			WithField("/", err.Error())
	}
	return nil
}

// Cursors are opaque to clients: base64 of the last Seq of the page.
func encodeCursor(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatUint(seq, 10)))
}

func decodeCursor(r *http.Request) (uint64, error) {
	c := r.URL.Query().Get("cursor")
	if c == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	seq, err2 := strconv.ParseUint(string(raw), 10, 64)
	if err != nil || err2 != nil || seq == 0 {
		return 0, core.NewProblem(http.StatusBadRequest, "invalid_request", "Invalid request",
			"query.cursor: not a cursor returned by this API").WithField("query.cursor", "malformed cursor")
	}
	return seq, nil
}

func limitOf(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || n < 1 {
		return 20
	}
	return min(n, 100)
}

// page is a list response.
type page[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
