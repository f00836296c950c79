package graphql

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/internal/schemaissue"
)

// MaxCasesPerTenant bounds the cases a tenant holds: triggered case events
// without a case id create cases (TriggerCase), and nothing else removes
// them but a reset.
const MaxCasesPerTenant = 10000

// TriggerError is TriggerCase's refusal of case fields a stored case
// cannot take; consumers that do not import this package match it by its
// DataIssues method.
type TriggerError struct {
	Topic string
	// Issues name the offending fields by JSON pointer inside the event's
	// data (/case/title).
	Issues []schemaissue.Issue
}

// DataIssues returns the issues.
func (e *TriggerError) DataIssues() []schemaissue.Issue { return e.Issues }

func (e *TriggerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the case fields of %s cannot be stored:", e.Topic)
	for _, is := range e.Issues {
		fmt.Fprintf(&b, " %s: %s;", is.Field, is.Reason)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// caseFields are the fields of a triggered event's data.case that change
// the stored case; a nil field is left as it is.
type caseFields struct {
	id                      string
	title, status, priority *string
	assignee                *string // "" unassigns
	tags                    []string
	hasTags                 bool
	resolution              string
}

// TriggerCase binds a triggered case.* event to the store: data is the
// trigger's overrides; the case data.case.id of tenant (ErrNotFound when
// the tenant has none) takes the fields of data.case, or, without an id, a
// new case is created from the topic's catalog example with them. It
// returns the members of the event's data that describe the stored state:
// "case", built as the mutations' events build it, and "changes"
// (case.updated), "previous_assignee" (case.assigned) or "resolution"
// (case.closed). The fields are checked as the mutations check their input
// (a *TriggerError names each refused one); every triggered event is one
// change, so the version moves on even when no field does.
func (s *Service) TriggerCase(ctx context.Context, tenant, topic string, data map[string]any) (map[string]any, error) {
	f, issues := s.triggerFields(tenant, topic, data)
	if len(issues) > 0 {
		return nil, &TriggerError{Topic: topic, Issues: issues}
	}
	var (
		c        Case
		changes  = map[string]any{}
		previous string
	)
	if f.id == "" {
		base := s.exampleCase(tenant, topic)
		previous = base.Assignee
		f.apply(&base, changes)
		var err error
		if c, err = s.store.Create(ctx, base, MaxCasesPerTenant); err != nil {
			return nil, err
		}
		clear(changes) // a new case has no previous values
	} else {
		cases, err := s.store.Update(ctx, tenant, []string{f.id}, func(cs []*Case) error {
			previous = cs[0].Assignee
			f.apply(cs[0], changes)
			s.touch(cs[0])
			return nil
		})
		if err != nil {
			return nil, err
		}
		c = cases[0]
	}
	out := map[string]any{"case": caseData(&c)}
	switch topic {
	case "case.updated":
		out["changes"] = changes
	case "case.assigned":
		out["previous_assignee"] = optional(previous)
	case "case.closed":
		out["resolution"] = c.Resolution
	}
	return out, nil
}

// apply sets the fields on c, recording the previous value of each one
// that changes in changes.
func (f *caseFields) apply(c *Case, changes map[string]any) {
	set := func(name string, field *string, v *string) {
		if v != nil && *v != *field {
			changes[name], *field = *field, *v
		}
	}
	set("title", &c.Title, f.title)
	before := c.Status
	set("status", &c.Status, f.status)
	if c.Status != before {
		c.Resolution = ""
	}
	set("priority", &c.Priority, f.priority)
	if f.assignee != nil && *f.assignee != c.Assignee {
		changes["assignee"], c.Assignee = optional(c.Assignee), *f.assignee
	}
	if f.hasTags && !slices.Equal(f.tags, c.Tags) {
		changes["tags"], c.Tags = c.Tags, f.tags
	}
	if f.resolution != "" {
		c.Resolution = f.resolution
	}
}

// exampleCase is the new case of a trigger without a case id: the fields
// of the topic's catalog example (its assignee only when a user of
// tenant), a fresh id and number, version 1, created now.
func (s *Service) exampleCase(tenant, topic string) Case {
	now := s.cfg.Clock.Now().UTC()
	id := s.cfg.IDs.New("case")
	c := Case{ID: id, Tenant: tenant, Number: strings.ToUpper(tenant) + "-" + strings.ToUpper(id[len(id)-8:]),
		Status: "OPEN", Priority: "MEDIUM", Tags: []string{}, Version: 1, CreatedAt: now, UpdatedAt: now}
	ex, _ := s.exampleData(topic)["case"].(map[string]any)
	str := func(k string) string { v, _ := ex[k].(string); return v }
	if v := str("title"); v != "" {
		c.Title = v
	}
	if v := str("status"); v != "" {
		c.Status = v
	}
	if v := str("priority"); v != "" {
		c.Priority = v
	}
	if s.tenantUser(tenant, str("assignee")) {
		c.Assignee = str("assignee")
	}
	if tags, ok := ex["tags"].([]any); ok {
		for _, t := range tags {
			if t, ok := t.(string); ok {
				c.Tags = append(c.Tags, t)
			}
		}
	}
	return c
}

func (s *Service) exampleData(topic string) map[string]any {
	for _, et := range s.cfg.Fixtures.EventTypes {
		if et.Type == topic {
			return et.Example
		}
	}
	return nil
}

func (s *Service) tenantUser(tenant, id string) bool {
	t, ok := s.cfg.Tenants.Tenant(tenant)
	if !ok || id == "" {
		return false
	}
	return slices.ContainsFunc(t.Users, func(u fixtures.User) bool { return u.ID == id })
}

// triggerFields reads data.case (and data.resolution of case.closed) with
// the input rules of the mutations, reporting every refused field.
func (s *Service) triggerFields(tenant, topic string, data map[string]any) (caseFields, []schemaissue.Issue) {
	var (
		f      caseFields
		issues []schemaissue.Issue
	)
	refuse := func(field, reason string) { issues = append(issues, schemaissue.Issue{Field: field, Reason: reason}) }
	closing := topic == "case.closed"
	if closing {
		f.resolution, _ = s.exampleData(topic)["resolution"].(string)
		if v, ok := data["resolution"]; ok {
			r, isString := v.(string)
			if r = strings.TrimSpace(r); !isString || r == "" || utf8.RuneCountInString(r) > maxResolution {
				refuse("/resolution", fmt.Sprintf("must have 1 to %d characters", maxResolution))
			}
			f.resolution = r
		}
		closed := "CLOSED"
		f.status = &closed
	}
	raw, ok := data["case"]
	if !ok {
		return f, issues
	}
	fields, ok := raw.(map[string]any)
	if !ok {
		refuse("/case", "must be an object")
		return f, issues
	}
	str := func(k string) (*string, bool) {
		v, isString := fields[k].(string)
		if !isString {
			refuse("/case/"+k, "must be a string")
			return nil, false
		}
		return &v, true
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		switch k {
		case "id":
			if v, ok := str(k); ok {
				if *v == "" {
					refuse("/case/id", "must name a case; leave it out to create one")
				}
				f.id = *v
			}
		case "title":
			if v, ok := str(k); ok {
				t := strings.TrimSpace(*v)
				if t == "" || utf8.RuneCountInString(t) > maxTitle {
					refuse("/case/title", fmt.Sprintf("must have 1 to %d characters", maxTitle))
				}
				f.title = &t
			}
		case "status":
			if v, ok := str(k); ok {
				switch {
				case closing && *v != "CLOSED":
					refuse("/case/status", "must be CLOSED in case.closed")
				case !closing && *v == "CLOSED":
					refuse("/case/status", "cannot be CLOSED: close a case with case.closed")
				case !closing && *v != "OPEN" && *v != "IN_PROGRESS":
					refuse("/case/status", "must be OPEN or IN_PROGRESS")
				case !closing:
					f.status = v
				}
			}
		case "priority":
			if v, ok := str(k); ok {
				if !slices.Contains([]string{"LOW", "MEDIUM", "HIGH", "CRITICAL"}, *v) {
					refuse("/case/priority", "must be LOW, MEDIUM, HIGH or CRITICAL")
				}
				f.priority = v
			}
		case "assignee":
			none := ""
			if fields[k] == nil {
				f.assignee = &none
			} else if v, ok := str(k); ok {
				if !s.tenantUser(tenant, *v) {
					refuse("/case/assignee", "no user of the tenant has this id")
				}
				f.assignee = v
			}
		case "tags":
			f.tags, f.hasTags = f.tagsField(fields[k], refuse)
		case "number", "created_at", "updated_at", "version":
			refuse("/case/"+k, `is kept by the sandbox; send "synthetic": true for a payload of your own`)
		default:
			refuse("/case/"+k, `is not a field of a stored case; send "synthetic": true for a payload of your own`)
		}
	}
	return f, issues
}

// tagsField reads tags with the rules of UpdateCaseInput.tags.
func (f *caseFields) tagsField(v any, refuse func(field, reason string)) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		refuse("/case/tags", "must be a list of strings")
		return nil, false
	}
	if len(list) > maxTags {
		refuse("/case/tags", fmt.Sprintf("may have at most %d tags", maxTags))
		return nil, false
	}
	tags := make([]string, 0, len(list))
	for i, e := range list {
		tag, ok := e.(string)
		if !ok || len(tag) > maxTag || !tagPattern.MatchString(tag) || slices.Contains(tags, tag) {
			refuse(fmt.Sprintf("/case/tags/%d", i), fmt.Sprintf("must be a unique tag of 1 to %d characters of a-z, 0-9 and -", maxTag))
			return nil, false
		}
		tags = append(tags, tag)
	}
	return tags, true
}
