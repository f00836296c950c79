package graphql

import (
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// The data shapes below are those of the event catalog (fixtures/events.yaml):
// snake_case keys, RFC 3339 times, null for a missing assignee or author.

// caseData is the "case" object of case.* events.
func caseData(c *Case) map[string]any {
	tags := c.Tags
	if tags == nil {
		tags = []string{}
	}
	return map[string]any{
		"id": c.ID, "number": c.Number, "title": c.Title, "status": c.Status, "priority": c.Priority,
		"assignee": optional(c.Assignee), "tags": tags,
		"created_at": c.CreatedAt.UTC().Format(time.RFC3339Nano), "updated_at": c.UpdatedAt.UTC().Format(time.RFC3339Nano),
		"version": c.Version,
	}
}

// noteData is the "note" object of note.created.
func noteData(n *Note) map[string]any {
	return map[string]any{"id": n.ID, "author": optional(n.Author), "body": n.Body, "created_at": n.CreatedAt.UTC().Format(time.RFC3339Nano)}
}

// actor is who made a change: the signed-in user (with the app's client
// id), the app itself, or a tenant administrator.
func actor(p *core.Principal) map[string]any {
	a := map[string]any{}
	switch p.Kind {
	case core.KindUser:
		a["type"], a["id"] = "user", p.UserID
	case core.KindAdmin:
		a["type"], a["id"] = "admin", p.Tenant
	default:
		a["type"], a["id"] = "app", p.Subject
	}
	if p.ClientID != "" {
		a["client_id"] = p.ClientID
	}
	return a
}

// emit publishes an event after its change was stored. A failure to publish
// does not undo the change, so it is logged rather than returned.
func (s *Service) emit(ex *execution, topic string, data map[string]any) {
	if s.cfg.Events == nil {
		return
	}
	if _, err := s.cfg.Events.Publish(ex.ctx, ex.principal.Tenant, topic, data); err != nil {
		ex.logger().Error("graphql: publish event", "topic", topic, "err", err)
	}
}
