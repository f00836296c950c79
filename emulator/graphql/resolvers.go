package graphql

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
)

// viewer is who the token acts for; a user viewer when an app acts for a
// signed-in user, an app viewer otherwise.
type viewer struct{ p *core.Principal }

func (v *viewer) graphQLType() string {
	if v.p.Kind == core.KindUser {
		return "UserViewer"
	}
	return "AppViewer"
}

// connection is a page of a Relay-style connection. Cursors are encoded
// only when a query selects them.
type connection struct {
	nodes []any
	ids   []string // of nodes, for their cursors
	kind  string
	total int
	// count, when set, counts the total instead of total: a store's
	// count, run only when a query selects totalCount.
	count   func() (int, error)
	hasNext bool
}

// cursor returns the opaque cursor of nodes[i].
func (c *connection) cursor(i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(c.kind + ":" + c.ids[i]))
}

// edge is nodes[i] of a connection.
type edge struct {
	c *connection
	i int
}

type pageInfo struct{ c *connection }

// buildResolvers wires every field of the partner schema (a superset of
// the public one). New checks that none is missing.
func (s *Service) buildResolvers() map[string]map[string]resolveFunc {
	r := map[string]map[string]resolveFunc{
		"Query":    s.queryResolvers(),
		"Mutation": s.mutationResolvers(),
	}
	viewerFields := map[string]resolveFunc{
		"subject":  func(_ *execution, v any, _ map[string]any) (any, error) { return v.(*viewer).p.Subject, nil },
		"clientId": func(_ *execution, v any, _ map[string]any) (any, error) { return v.(*viewer).p.ClientID, nil },
		"scopes": func(_ *execution, v any, _ map[string]any) (any, error) {
			if sc := v.(*viewer).p.Scopes; sc != nil {
				return sc, nil
			}
			return []string{}, nil
		},
		"tenant": func(ex *execution, v any, _ map[string]any) (any, error) {
			t, _ := s.cfg.Tenants.Tenant(v.(*viewer).p.Tenant)
			return t, nil
		},
	}
	r["AppViewer"] = viewerFields
	r["UserViewer"] = map[string]resolveFunc{
		"userId": func(_ *execution, v any, _ map[string]any) (any, error) { return v.(*viewer).p.UserID, nil },
		"user": func(ex *execution, v any, _ map[string]any) (any, error) {
			return s.user(ex, v.(*viewer).p.UserID), nil
		},
	}
	for k, f := range viewerFields {
		r["UserViewer"][k] = f
	}
	r["Tenant"] = map[string]resolveFunc{
		"id":   func(_ *execution, v any, _ map[string]any) (any, error) { return v.(*fixtures.Tenant).ID, nil },
		"name": func(_ *execution, v any, _ map[string]any) (any, error) { return v.(*fixtures.Tenant).Name, nil },
	}
	r["User"] = map[string]resolveFunc{
		"id":    func(_ *execution, v any, _ map[string]any) (any, error) { return &v.(*fixtures.User).ID, nil },
		"name":  func(_ *execution, v any, _ map[string]any) (any, error) { return &v.(*fixtures.User).Name, nil },
		"email": func(_ *execution, v any, _ map[string]any) (any, error) { return &v.(*fixtures.User).Email, nil },
		"role":  func(_ *execution, v any, _ map[string]any) (any, error) { return &v.(*fixtures.User).Role, nil },
	}
	r["Case"] = s.caseResolvers()
	r["Note"] = map[string]resolveFunc{
		"id":        func(_ *execution, v any, _ map[string]any) (any, error) { return &v.(*Note).ID, nil },
		"body":      func(_ *execution, v any, _ map[string]any) (any, error) { return &v.(*Note).Body, nil },
		"authorId":  func(_ *execution, v any, _ map[string]any) (any, error) { return optional(v.(*Note).Author), nil },
		"author":    func(ex *execution, v any, _ map[string]any) (any, error) { return s.user(ex, v.(*Note).Author), nil },
		"createdAt": func(_ *execution, v any, _ map[string]any) (any, error) { return &v.(*Note).CreatedAt, nil },
	}
	conn := map[string]resolveFunc{
		"nodes": func(_ *execution, v any, _ map[string]any) (any, error) { return v.(*connection).nodes, nil },
		"totalCount": func(_ *execution, v any, _ map[string]any) (any, error) {
			if c := v.(*connection); c.count != nil {
				return c.count()
			}
			return v.(*connection).total, nil
		},
		"edges": func(_ *execution, v any, _ map[string]any) (any, error) {
			c := v.(*connection)
			edges := make([]edge, len(c.nodes))
			out := make([]any, len(c.nodes))
			for i := range edges {
				edges[i] = edge{c: c, i: i}
				out[i] = &edges[i]
			}
			return out, nil
		},
		"pageInfo": func(_ *execution, v any, _ map[string]any) (any, error) {
			return &pageInfo{c: v.(*connection)}, nil
		},
	}
	edgeFields := map[string]resolveFunc{
		"cursor": func(_ *execution, v any, _ map[string]any) (any, error) { e := v.(*edge); return e.c.cursor(e.i), nil },
		"node":   func(_ *execution, v any, _ map[string]any) (any, error) { e := v.(*edge); return e.c.nodes[e.i], nil },
	}
	for _, name := range []string{"Case", "Note", "User"} {
		r[name+"Connection"] = conn
		r[name+"Edge"] = edgeFields
	}
	r["PageInfo"] = map[string]resolveFunc{
		"hasNextPage": func(_ *execution, v any, _ map[string]any) (any, error) { return v.(*pageInfo).c.hasNext, nil },
		"endCursor": func(_ *execution, v any, _ map[string]any) (any, error) {
			if c := v.(*pageInfo).c; len(c.nodes) > 0 {
				return c.cursor(len(c.nodes) - 1), nil
			}
			return nil, nil
		},
	}
	r["Bundle"] = map[string]resolveFunc{
		"id":   func(_ *execution, v any, _ map[string]any) (any, error) { return v.(*fixtures.Bundle).ID, nil },
		"name": func(_ *execution, v any, _ map[string]any) (any, error) { return v.(*fixtures.Bundle).Name, nil },
		"operations": func(_ *execution, v any, _ map[string]any) (any, error) {
			b := v.(*fixtures.Bundle)
			out := make([]any, len(b.Operations))
			for i := range b.Operations {
				out[i] = &b.Operations[i]
			}
			return out, nil
		},
	}
	r["PersistedOperation"] = map[string]resolveFunc{
		"id": func(_ *execution, v any, _ map[string]any) (any, error) { return v.(*fixtures.BundleOperation).ID, nil },
		"sha256Hash": func(_ *execution, v any, _ map[string]any) (any, error) {
			return v.(*fixtures.BundleOperation).SHA256, nil
		},
		"document": func(_ *execution, v any, _ map[string]any) (any, error) {
			return v.(*fixtures.BundleOperation).Document, nil
		},
	}
	r["AuditRecord"] = map[string]resolveFunc{
		"id":         func(_ *execution, v any, _ map[string]any) (any, error) { return v.(AuditRecord).ID, nil },
		"action":     func(_ *execution, v any, _ map[string]any) (any, error) { return v.(AuditRecord).Action, nil },
		"actor":      func(_ *execution, v any, _ map[string]any) (any, error) { return v.(AuditRecord).Actor, nil },
		"target":     func(_ *execution, v any, _ map[string]any) (any, error) { return optional(v.(AuditRecord).Target), nil },
		"occurredAt": func(_ *execution, v any, _ map[string]any) (any, error) { return v.(AuditRecord).OccurredAt, nil },
	}
	return r
}

// optional turns an empty string into null.
func optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// user returns the user id of the principal's tenant, or nil: users of
// other tenants do not exist for this token.
func (s *Service) user(ex *execution, id string) any {
	t, ok := s.cfg.Tenants.Tenant(ex.principal.Tenant)
	if !ok || id == "" {
		return nil
	}
	for i := range t.Users {
		if t.Users[i].ID == id {
			return &t.Users[i]
		}
	}
	return nil
}

// defaultPage is the page size of a connection whose first is null, the
// default the SDL declares.
const defaultPage = 20

// maxPage bounds the first argument of every connection.
const maxPage = 100

// paginate cuts one page of a connection (Relay cursor connections):
// cursors are opaque, derived from the item ids, so a cursor of another
// tenant or list is simply invalid.
func paginate[T any](items []T, id func(T) string, kind string, args map[string]any) (*connection, error) {
	first, err := pageSize(args)
	if err != nil {
		return nil, err
	}
	start := 0
	key, err := afterKey(args, kind)
	if err != nil {
		return nil, err
	}
	if key != "" {
		start = -1
		for i, it := range items {
			if id(it) == key {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, errInput("after is not a valid cursor")
		}
	}
	end := min(start+first, len(items))
	page := items[start:end]
	c := &connection{nodes: make([]any, len(page)), ids: make([]string, len(page)), kind: kind, total: len(items), hasNext: end < len(items)}
	for i, it := range page {
		c.nodes[i], c.ids[i] = it, id(it)
	}
	return c, nil
}

// afterKey is the item id in the after argument of a connection of kind,
// "" without one; a cursor of another kind, or not one at all, is an
// input error.
func afterKey(args map[string]any, kind string) (string, error) {
	after, ok := arg[string](args, "after")
	if !ok {
		return "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(after)
	key, found := strings.CutPrefix(string(raw), kind+":")
	if err != nil || !found || key == "" {
		return "", errInput("after is not a valid cursor")
	}
	return key, nil
}

// storeError maps store errors to what the client may see.
func storeError(err error) error {
	if errors.Is(err, ErrNotFound) {
		return errNotFound("case")
	}
	return err
}
