package graphql

import (
	"errors"
	"slices"
	"time"

	"github.com/knogin/argus-sandbox/fixtures"
)

// queryResolvers are the root query fields. The tenant always comes from
// the principal: a case of another tenant is looked up in the wrong
// partition and is simply not there (NOT_FOUND, never FORBIDDEN).
func (s *Service) queryResolvers() map[string]resolveFunc {
	return map[string]resolveFunc{
		"viewer": func(ex *execution, _ any, _ map[string]any) (any, error) {
			return &viewer{p: ex.principal}, nil
		},
		"case": func(ex *execution, _ any, args map[string]any) (any, error) {
			id, err := requiredArg[string](args, "id")
			if err != nil {
				return nil, err
			}
			c, err := s.store.Case(ex.ctx, ex.principal.Tenant, id)
			if err != nil {
				return nil, storeError(err)
			}
			return &c, nil
		},
		"cases": func(ex *execution, _ any, args map[string]any) (any, error) {
			return s.casePage(ex, args)
		},
		"user": func(ex *execution, _ any, args map[string]any) (any, error) {
			id, err := requiredArg[string](args, "id")
			if err != nil {
				return nil, err
			}
			if u := s.user(ex, id); u != nil {
				return u, nil
			}
			return nil, errNotFound("user")
		},
		"users": func(ex *execution, _ any, args map[string]any) (any, error) {
			t, _ := s.cfg.Tenants.Tenant(ex.principal.Tenant)
			var list []*fixtures.User
			if t != nil {
				for i := range t.Users {
					list = append(list, &t.Users[i])
				}
			}
			return paginate(list, func(u *fixtures.User) string { return u.ID }, "user", args)
		},
		"approvedBundles": func(ex *execution, _ any, _ map[string]any) (any, error) {
			return s.approvedBundles(ex.ctx, ex.principal.Tenant), nil
		},
		"auditExport": func(ex *execution, _ any, args map[string]any) (any, error) {
			out := []any{}
			if s.cfg.Audit == nil {
				return out, nil
			}
			since, _ := arg[time.Time](args, "since")
			recs, err := s.cfg.Audit.AuditRecords(ex.ctx, ex.principal.Tenant, since)
			if err != nil {
				return nil, err
			}
			for _, r := range recs {
				out = append(out, r)
			}
			return out, nil
		},
	}
}

// casePage is the cases connection: the store reads the page after the
// cursor's case (keyset), so a page costs the same with 10 cases or
// 10,000; totalCount, when selected, is the store's count.
func (s *Service) casePage(ex *execution, args map[string]any) (*connection, error) {
	first, err := pageSize(args)
	if err != nil {
		return nil, err
	}
	after, err := afterKey(args, "case")
	if err != nil {
		return nil, err
	}
	var match func(*Case) bool
	if filter := newCaseFilter(args); filter.any() {
		match = filter.matches
	}
	ctx, tenant := ex.ctx, ex.principal.Tenant
	page, more, err := s.store.CasePage(ctx, tenant, CaseQuery{After: after, Limit: first, Match: match})
	if errors.Is(err, ErrNotFound) {
		return nil, errInput("after is not a valid cursor")
	}
	if err != nil {
		return nil, err
	}
	c := &connection{nodes: make([]any, len(page)), ids: make([]string, len(page)), kind: "case", hasNext: more,
		count: func() (int, error) { return s.store.CountCases(ctx, tenant, match) }}
	for i := range page {
		c.nodes[i], c.ids[i] = &page[i], page[i].ID
	}
	return c, nil
}

// caseFilter is the CaseFilter argument of cases; a field that is absent
// or null matches every case.
type caseFilter struct {
	status, priority     []string
	assignee, tag        string
	byStatus, byPriority bool
	byAssignee, byTag    bool
}

func newCaseFilter(args map[string]any) caseFilter {
	var f caseFilter
	in, ok := arg[map[string]any](args, "filter")
	if !ok {
		return f
	}
	f.status, f.byStatus = stringsArg(in, "status")
	f.priority, f.byPriority = stringsArg(in, "priority")
	f.assignee, f.byAssignee = arg[string](in, "assigneeId")
	f.tag, f.byTag = arg[string](in, "tag")
	return f
}

// any reports whether the filter restricts anything.
func (f *caseFilter) any() bool { return f.byStatus || f.byPriority || f.byAssignee || f.byTag }

// matches applies the filter; every given field must match.
func (f *caseFilter) matches(c *Case) bool {
	return (!f.byStatus || slices.Contains(f.status, c.Status)) &&
		(!f.byPriority || slices.Contains(f.priority, c.Priority)) &&
		(!f.byAssignee || c.Assignee == f.assignee) &&
		(!f.byTag || slices.Contains(c.Tags, f.tag))
}

// caseResolvers are the fields of Case. Leaf fields answer pointers into
// the case (a copy the resolver of the case made for this request): a
// string, int or time put in an interface would be copied to the heap, once
// per field and request.
func (s *Service) caseResolvers() map[string]resolveFunc {
	get := func(f func(c *Case) any) resolveFunc {
		return func(_ *execution, v any, _ map[string]any) (any, error) { return f(v.(*Case)), nil }
	}
	return map[string]resolveFunc{
		"id":         get(func(c *Case) any { return &c.ID }),
		"number":     get(func(c *Case) any { return &c.Number }),
		"title":      get(func(c *Case) any { return &c.Title }),
		"status":     get(func(c *Case) any { return &c.Status }),
		"priority":   get(func(c *Case) any { return &c.Priority }),
		"assigneeId": get(func(c *Case) any { return optional(c.Assignee) }),
		"tags": get(func(c *Case) any {
			if c.Tags == nil {
				return []string{}
			}
			return c.Tags
		}),
		"resolution": get(func(c *Case) any { return optional(c.Resolution) }),
		"version":    get(func(c *Case) any { return &c.Version }),
		"createdAt":  get(func(c *Case) any { return &c.CreatedAt }),
		"updatedAt":  get(func(c *Case) any { return &c.UpdatedAt }),
		"assignee": func(ex *execution, v any, _ map[string]any) (any, error) {
			return s.user(ex, v.(*Case).Assignee), nil
		},
		"notes": func(_ *execution, v any, args map[string]any) (any, error) {
			c := v.(*Case)
			notes := make([]*Note, len(c.Notes))
			for i := range c.Notes {
				notes[i] = &c.Notes[i]
			}
			slices.SortStableFunc(notes, func(a, b *Note) int { return a.CreatedAt.Compare(b.CreatedAt) })
			return paginate(notes, func(n *Note) string { return n.ID }, "note", args)
		},
	}
}
