package graphql

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Input rules of the mutations, documented on UpdateCaseInput in the SDL.
const (
	maxTitle      = 200
	maxTags       = 20
	maxTag        = 50
	maxNoteBody   = 10000
	maxResolution = 2000
	// maxNotesPerCase bounds the notes of one case.
	maxNotesPerCase = 1000
)

var tagPattern = regexp.MustCompile(`^[a-z0-9-]+$`)

// mutationResolvers are the root mutation fields. Each change bumps the
// case's version and emits the matching webhook event after it is stored.
func (s *Service) mutationResolvers() map[string]resolveFunc {
	return map[string]resolveFunc{
		"updateCase":  s.updateCase,
		"assignCase":  s.assignCase,
		"closeCase":   s.closeCase,
		"addCaseNote": s.addCaseNote,
		"mergeCases":  s.mergeCases,
	}
}

func (s *Service) updateCase(ex *execution, _ any, args map[string]any) (any, error) {
	id, err := requiredArg[string](args, "id")
	if err != nil {
		return nil, err
	}
	in, _ := arg[map[string]any](args, "input")
	if allNil(in) {
		return nil, errInput("input must change at least one of title, status, priority or tags")
	}
	if err := validateUpdate(in); err != nil {
		return nil, err
	}
	changes := map[string]any{}
	cases, err := s.store.Update(ex.ctx, ex.principal.Tenant, []string{id}, func(cs []*Case) error {
		c := cs[0]
		if v, ok := arg[string](in, "title"); ok && strings.TrimSpace(v) != c.Title {
			changes["title"], c.Title = c.Title, strings.TrimSpace(v)
		}
		if v, ok := arg[string](in, "status"); ok && v != c.Status {
			changes["status"], c.Status = c.Status, v
			c.Resolution = ""
		}
		if v, ok := arg[string](in, "priority"); ok && v != c.Priority {
			changes["priority"], c.Priority = c.Priority, v
		}
		if tags, ok := stringsArg(in, "tags"); ok && !slices.Equal(tags, c.Tags) {
			changes["tags"], c.Tags = c.Tags, tags
		}
		if len(changes) > 0 {
			s.touch(c)
		}
		return nil
	})
	if err != nil {
		return nil, storeError(err)
	}
	c := cases[0]
	if len(changes) > 0 {
		s.emit(ex, "case.updated", map[string]any{"case": caseData(&c), "changes": changes, "actor": actor(ex.principal)})
	}
	return &c, nil
}

// allNil reports whether m has no value other than null (an absent or
// empty m included).
func allNil(m map[string]any) bool {
	for _, v := range m {
		if v != nil {
			return false
		}
	}
	return true
}

// validateUpdate applies the input rules of UpdateCaseInput; a field that
// is null is left unchanged.
func validateUpdate(in map[string]any) error {
	if v, ok := arg[string](in, "title"); ok {
		if t := strings.TrimSpace(v); t == "" || utf8.RuneCountInString(t) > maxTitle {
			return errInput(fmt.Sprintf("input.title must have 1 to %d characters", maxTitle))
		}
	}
	if v, ok := arg[string](in, "status"); ok && v == "CLOSED" {
		return errInput("input.status cannot be CLOSED: close a case with closeCase")
	}
	if in["tags"] != nil {
		v, ok := stringsArg(in, "tags")
		if !ok {
			return errInput("input.tags must be a list of strings")
		}
		if len(v) > maxTags {
			return errInput(fmt.Sprintf("input.tags may have at most %d tags", maxTags))
		}
		seen := map[string]bool{}
		for i, tag := range v {
			if len(tag) > maxTag || !tagPattern.MatchString(tag) || seen[tag] {
				return errInput(fmt.Sprintf("input.tags[%d] must be a unique tag of 1 to %d characters of a-z, 0-9 and -", i, maxTag))
			}
			seen[tag] = true
		}
	}
	return nil
}

func (s *Service) assignCase(ex *execution, _ any, args map[string]any) (any, error) {
	id, err := requiredArg[string](args, "id")
	if err != nil {
		return nil, err
	}
	assignee, _ := arg[string](args, "assigneeId") // null unassigns
	if assignee != "" && s.user(ex, assignee) == nil {
		return nil, errInput("assigneeId: no user with this id")
	}
	var previous string
	cases, err := s.store.Update(ex.ctx, ex.principal.Tenant, []string{id}, func(cs []*Case) error {
		c := cs[0]
		previous = c.Assignee
		if previous != assignee {
			c.Assignee = assignee
			s.touch(c)
		}
		return nil
	})
	if err != nil {
		return nil, storeError(err)
	}
	c := cases[0]
	if previous != assignee {
		s.emit(ex, "case.assigned", map[string]any{"case": caseData(&c), "previous_assignee": optional(previous), "actor": actor(ex.principal)})
	}
	return &c, nil
}

func (s *Service) closeCase(ex *execution, _ any, args map[string]any) (any, error) {
	id, err := requiredArg[string](args, "id")
	if err != nil {
		return nil, err
	}
	resolution, _ := arg[string](args, "resolution")
	resolution = strings.TrimSpace(resolution)
	if resolution == "" || utf8.RuneCountInString(resolution) > maxResolution {
		return nil, errInput(fmt.Sprintf("resolution must have 1 to %d characters", maxResolution))
	}
	cases, err := s.store.Update(ex.ctx, ex.principal.Tenant, []string{id}, func(cs []*Case) error {
		c := cs[0]
		if c.Status == "CLOSED" {
			return errInput("the case is already closed")
		}
		c.Status, c.Resolution = "CLOSED", resolution
		s.touch(c)
		return nil
	})
	if err != nil {
		return nil, storeError(err)
	}
	c := cases[0]
	s.emit(ex, "case.closed", map[string]any{"case": caseData(&c), "resolution": resolution, "actor": actor(ex.principal)})
	return &c, nil
}

func (s *Service) addCaseNote(ex *execution, _ any, args map[string]any) (any, error) {
	caseID, err := requiredArg[string](args, "caseId")
	if err != nil {
		return nil, err
	}
	body, _ := arg[string](args, "body")
	body = strings.TrimSpace(body)
	if body == "" || utf8.RuneCountInString(body) > maxNoteBody {
		return nil, errInput(fmt.Sprintf("body must have 1 to %d characters", maxNoteBody))
	}
	note := Note{ID: s.cfg.IDs.New("note"), Author: ex.principal.UserID, Body: body, CreatedAt: s.cfg.Clock.Now().UTC()}
	if _, err := s.store.Update(ex.ctx, ex.principal.Tenant, []string{caseID}, func(cs []*Case) error {
		// Checked inside the update, so concurrent calls cannot pass it
		// together.
		if n := len(cs[0].Notes); n >= maxNotesPerCase {
			return errLimit("notes_per_case", maxNotesPerCase, fmt.Sprintf("the case has %d notes, the most a case may have", n))
		}
		cs[0].Notes = append(cs[0].Notes, note)
		s.touch(cs[0])
		return nil
	}); err != nil {
		return nil, storeError(err)
	}
	s.emit(ex, "note.created", map[string]any{"case_id": caseID, "note": noteData(&note), "actor": actor(ex.principal)})
	return &note, nil
}

// mergeCases is the partner-only merge: the sources' notes and tags move to
// the target and each open source is closed, all in one store update.
func (s *Service) mergeCases(ex *execution, _ any, args map[string]any) (any, error) {
	target, err := requiredArg[string](args, "target")
	if err != nil {
		return nil, err
	}
	sources, _ := stringsArg(args, "sources")
	ids := []string{target}
	for _, id := range sources {
		if slices.Contains(ids, id) {
			return nil, errInput("sources must be distinct cases other than the target")
		}
		ids = append(ids, id)
	}
	if len(ids) < 2 {
		return nil, errInput("sources must name at least one case")
	}
	var oldTags []string
	wasOpen := make([]bool, len(ids))
	cases, err := s.store.Update(ex.ctx, ex.principal.Tenant, ids, func(cs []*Case) error {
		t := cs[0]
		n := len(t.Notes)
		for _, src := range cs[1:] {
			n += len(src.Notes)
		}
		if n > maxNotesPerCase {
			return errLimit("notes_per_case", maxNotesPerCase, fmt.Sprintf("the merged case would have %d notes; a case may have at most %d", n, maxNotesPerCase))
		}
		oldTags = slices.Clone(t.Tags)
		for i, src := range cs[1:] {
			t.Notes = append(t.Notes, src.Notes...)
			for _, tag := range src.Tags {
				if !slices.Contains(t.Tags, tag) {
					t.Tags = append(t.Tags, tag)
				}
			}
			src.Notes = nil
			wasOpen[i+1] = src.Status != "CLOSED"
			if wasOpen[i+1] {
				src.Status, src.Resolution = "CLOSED", "Merged into "+t.Number
			}
			s.touch(src)
		}
		s.touch(t)
		return nil
	})
	if err != nil {
		return nil, storeError(err)
	}
	changes := map[string]any{}
	if !slices.Equal(oldTags, cases[0].Tags) {
		changes["tags"] = oldTags
	}
	s.emit(ex, "case.updated", map[string]any{"case": caseData(&cases[0]), "changes": changes, "actor": actor(ex.principal)})
	for i := 1; i < len(cases); i++ {
		if wasOpen[i] {
			s.emit(ex, "case.closed", map[string]any{"case": caseData(&cases[i]), "resolution": cases[i].Resolution, "actor": actor(ex.principal)})
		}
	}
	return &cases[0], nil
}

// touch records a change: one version step and the current virtual time.
func (s *Service) touch(c *Case) {
	c.Version++
	c.UpdatedAt = s.cfg.Clock.Now().UTC()
}
