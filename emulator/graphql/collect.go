package graphql

import (
	"github.com/vektah/gqlparser/v2/ast"
)

// fieldGroup is the fields of one response key, in document order: field
// and, rarely, more fields merged with it (kept apart to save allocations).
type fieldGroup struct {
	key   string
	field *ast.Field
	more  []*ast.Field
}

// selectionSet merges the sub-selections of the group (§6.4.3
// MergeSelectionSets).
func (g *fieldGroup) selectionSet() ast.SelectionSet {
	if len(g.more) == 0 {
		return g.field.SelectionSet
	}
	set := append(ast.SelectionSet(nil), g.field.SelectionSet...)
	for _, f := range g.more {
		set = append(set, f.SelectionSet...)
	}
	return set
}

// collectFields implements CollectFields (spec §6.3.2): it flattens
// fragments whose type condition applies, honours @skip and @include and
// groups fields by response key in the order they first appear.
func (ex *execution) collectFields(typ *ast.Definition, set ast.SelectionSet, visited *map[string]bool, groups []fieldGroup) []fieldGroup {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if !ex.included(s.Directives) {
				continue
			}
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			found := false
			for i := range groups {
				if groups[i].key == key {
					groups[i].more = append(groups[i].more, s)
					found = true
					break
				}
			}
			if !found {
				groups = append(groups, fieldGroup{key: key, field: s})
			}
		case *ast.FragmentSpread:
			if !ex.included(s.Directives) || (*visited)[s.Name] {
				continue
			}
			if *visited == nil {
				*visited = map[string]bool{}
			}
			(*visited)[s.Name] = true
			frag := ex.doc.Fragments.ForName(s.Name)
			if frag == nil || !ex.typeApplies(typ, frag.TypeCondition) {
				continue
			}
			groups = ex.collectFields(typ, frag.SelectionSet, visited, groups)
		case *ast.InlineFragment:
			if !ex.included(s.Directives) {
				continue
			}
			if s.TypeCondition != "" && !ex.typeApplies(typ, s.TypeCondition) {
				continue
			}
			groups = ex.collectFields(typ, s.SelectionSet, visited, groups)
		}
	}
	return groups
}

// included evaluates @skip and @include (spec §3.13.2, §3.13.3).
func (ex *execution) included(dirs ast.DirectiveList) bool {
	if d := dirs.ForName("skip"); d != nil && ex.directiveIf(d) {
		return false
	}
	if d := dirs.ForName("include"); d != nil && !ex.directiveIf(d) {
		return false
	}
	return true
}

func (ex *execution) directiveIf(d *ast.Directive) bool {
	arg := d.Arguments.ForName("if")
	if arg == nil {
		return false
	}
	if arg.Value.Kind == ast.Variable {
		b, _ := ex.vars[arg.Value.Raw].(bool)
		return b
	}
	return arg.Value.Raw == "true"
}

// typeApplies implements DoesFragmentTypeApply (spec §6.3.2).
func (ex *execution) typeApplies(obj *ast.Definition, cond string) bool {
	if obj.Name == cond {
		return true
	}
	def := ex.schema.Types[cond]
	if def == nil || !def.IsAbstractType() {
		return false
	}
	for _, p := range ex.schema.GetPossibleTypes(def) {
		if p.Name == obj.Name {
			return true
		}
	}
	return false
}
