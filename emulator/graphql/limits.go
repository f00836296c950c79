package graphql

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
)

func tooComplex(limit string, max int, message string) *gqlError {
	return newError(CodeTooComplex, message).with("limit", limit).with("max", max)
}

// measure is what the limits look at for one selection set.
type measure struct {
	depth, cost, aliases int
}

// checkLimits measures the operation with fragments expanded and refuses it
// before execution when it is too deep, too costly or too aliased. Each
// fragment is measured once, so the check stays linear in the document
// even when fragments are spread many times. An operation whose measure
// does not depend on variables was measured when its document was
// prepared.
func (s *Service) checkLimits(schema *ast.Schema, prep *prepared, op *ast.OperationDefinition, vars map[string]any) *gqlError {
	got, ok := prep.measures[op]
	if !ok {
		m := &measurer{schema: schema, doc: prep.doc, args: prep.args, vars: vars}
		got = m.selectionSet(op.SelectionSet)
	}
	switch {
	case got.depth > s.limits.MaxDepth:
		return tooComplex("depth", s.limits.MaxDepth, fmt.Sprintf("the operation is nested %d levels deep; at most %d are allowed", got.depth, s.limits.MaxDepth))
	case got.aliases > s.limits.MaxAliases:
		return tooComplex("aliases", s.limits.MaxAliases, fmt.Sprintf("the operation uses %d aliases; at most %d are allowed", got.aliases, s.limits.MaxAliases))
	case got.cost > s.limits.MaxCost:
		return tooComplex("cost", s.limits.MaxCost, fmt.Sprintf("the operation's estimated cost is %d; at most %d is allowed (lower first or select fewer fields)", got.cost, s.limits.MaxCost))
	}
	return nil
}

// staticMeasures measures the operations of doc whose measure depends on
// no variable: every first argument they use is a constant.
func staticMeasures(schema *ast.Schema, doc *ast.QueryDocument, args map[*ast.Field]map[string]any) map[*ast.OperationDefinition]measure {
	var out map[*ast.OperationDefinition]measure
	for _, op := range doc.Operations {
		m := &measurer{schema: schema, doc: doc, args: args}
		got := m.selectionSet(op.SelectionSet)
		if m.usesVars {
			continue
		}
		if out == nil {
			out = map[*ast.OperationDefinition]measure{}
		}
		out[op] = got
	}
	return out
}

type measurer struct {
	schema *ast.Schema
	doc    *ast.QueryDocument
	args   map[*ast.Field]map[string]any // constant arguments (prepared.args)
	vars   map[string]any
	frags  map[string]measure
	// usesVars is set when a first argument took a variable.
	usesVars bool
}

func (m *measurer) selectionSet(set ast.SelectionSet) measure {
	var out measure
	for _, sel := range set {
		var got measure
		switch s := sel.(type) {
		case *ast.Field:
			got = m.field(s)
		case *ast.InlineFragment:
			got = m.selectionSet(s.SelectionSet)
		case *ast.FragmentSpread:
			got = m.fragment(s.Name)
		}
		out.depth = max(out.depth, got.depth)
		out.cost = saturate(out.cost + got.cost)
		out.aliases = saturate(out.aliases + got.aliases)
	}
	return out
}

func (m *measurer) fragment(name string) measure {
	if got, ok := m.frags[name]; ok {
		return got
	}
	if m.frags == nil {
		m.frags = map[string]measure{}
	}
	m.frags[name] = measure{} // validation already refused cycles
	frag := m.doc.Fragments.ForName(name)
	if frag == nil {
		return measure{}
	}
	got := m.selectionSet(frag.SelectionSet)
	m.frags[name] = got
	return got
}

func (m *measurer) field(f *ast.Field) measure {
	sub := m.selectionSet(f.SelectionSet)
	out := measure{depth: sub.depth + 1, cost: 1, aliases: sub.aliases}
	if f.Alias != "" && f.Alias != f.Name {
		out.aliases = saturate(out.aliases + 1)
	}
	multiplier := 1
	if f.Definition != nil && f.Definition.Arguments.ForName("first") != nil {
		args, ok := m.args[f]
		var err error
		if !ok {
			m.usesVars = true
			args, err = coerceArguments(m.schema, f.Definition.Arguments, f.Arguments, m.vars)
		}
		if err == nil {
			// A null first pages like the default, and costs so.
			n, ok := arg[int64](args, "first")
			if !ok {
				n = defaultPage
			}
			if n > 1 {
				multiplier = int(n) // an Int: 32 bits
			}
		}
	}
	inner := ceiling
	if sub.cost <= ceiling/multiplier {
		inner = multiplier * sub.cost
	}
	out.cost = saturate(out.cost + inner)
	return out
}

const ceiling = 1 << 40

// saturate keeps the estimates from overflowing on hostile documents.
func saturate(n int) int {
	if n < 0 || n > ceiling {
		return ceiling
	}
	return n
}
