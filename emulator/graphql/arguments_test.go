package graphql

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2/ast"
)

// nullCase is one generated request: the field named by name, reached from
// a root type, with null in one nullable argument position.
type nullCase struct {
	name  string
	query string
	vars  map[string]any
	// public is set when the document uses only the public schema, so it
	// can be sent over HTTP; partner fields run on the executor directly.
	public bool
}

// pathStep is one field on the way from a root type to the type of the
// field under test; on is the concrete type selected with an inline
// fragment when the field returns an interface or a union.
type pathStep struct {
	field *ast.FieldDefinition
	on    string
}

// shortestPaths finds, for every object type reachable from root, the
// shortest selection path that reaches it (breadth first, fields in schema
// order).
func shortestPaths(schema *ast.Schema, root *ast.Definition) map[string][]pathStep {
	paths := map[string][]pathStep{root.Name: nil}
	queue := []*ast.Definition{root}
	for len(queue) > 0 {
		typ := queue[0]
		queue = queue[1:]
		for _, f := range typ.Fields {
			if strings.HasPrefix(f.Name, "__") {
				continue
			}
			named := schema.Types[f.Type.Name()]
			var targets []*ast.Definition
			switch named.Kind {
			case ast.Object:
				targets = []*ast.Definition{named}
			case ast.Interface, ast.Union:
				targets = schema.GetPossibleTypes(named)
			}
			for _, next := range targets {
				if _, seen := paths[next.Name]; seen {
					continue
				}
				step := pathStep{field: f}
				if next != named {
					step.on = next.Name
				}
				paths[next.Name] = append(slices.Clone(paths[typ.Name]), step)
				queue = append(queue, next)
			}
		}
	}
	return paths
}

// sampleValue is a valid literal of t: every field of an input object is
// given, so that mutations on the path do change something.
func sampleValue(schema *ast.Schema, t *ast.Type) string {
	if t.Elem != nil {
		return "[" + sampleValue(schema, t.Elem) + "]"
	}
	def := schema.Types[t.NamedType]
	switch def.Kind {
	case ast.Enum:
		return def.EnumValues[0].Name
	case ast.InputObject:
		return inputWithNull(schema, def, nil, "")
	}
	switch def.Name {
	case "ID":
		return `"case_acme_1001"`
	case "Int":
		return "1"
	case "Float":
		return "1.5"
	case "Boolean":
		return "true"
	case "DateTime":
		return `"2026-01-01T00:00:00Z"`
	}
	return `"sample"`
}

// valueWithNull renders a literal of t whose position rest (field names
// of input objects, "[]" for a list element) holds null, the literal
// null or a variable.
func valueWithNull(schema *ast.Schema, t *ast.Type, rest []string, null string) string {
	switch {
	case len(rest) == 0:
		return null
	case rest[0] == "[]":
		return "[" + valueWithNull(schema, t.Elem, rest[1:], null) + "]"
	}
	return inputWithNull(schema, schema.Types[t.NamedType], rest, null)
}

func inputWithNull(schema *ast.Schema, def *ast.Definition, rest []string, null string) string {
	var fields []string
	for _, f := range def.Fields {
		if len(rest) > 0 && f.Name == rest[0] {
			fields = append(fields, f.Name+": "+valueWithNull(schema, f.Type, rest[1:], null))
			continue
		}
		fields = append(fields, f.Name+": "+sampleValue(schema, f.Type))
	}
	return "{" + strings.Join(fields, ", ") + "}"
}

// nullPositions lists every position under an argument of type t that may
// hold null, each with its type, to a bounded depth.
func nullPositions(schema *ast.Schema, t *ast.Type, at []string, depth int, visit func(at []string, t *ast.Type)) {
	if !t.NonNull && len(at) > 0 {
		visit(at, t)
	}
	if depth == 0 {
		return
	}
	if t.Elem != nil {
		nullPositions(schema, t.Elem, append(slices.Clone(at), "[]"), depth-1, visit)
		return
	}
	if def := schema.Types[t.NamedType]; def.Kind == ast.InputObject {
		for _, f := range def.Fields {
			nullPositions(schema, f.Type, append(slices.Clone(at), f.Name), depth-1, visit)
		}
	}
}

// leafSelection selects a scalar field of typ, if it is a composite type.
func leafSelection(schema *ast.Schema, typ *ast.Definition) string {
	switch typ.Kind {
	case ast.Object:
		for _, f := range typ.Fields {
			if k := schema.Types[f.Type.Name()].Kind; (k == ast.Scalar || k == ast.Enum) && len(f.Arguments) == 0 && !strings.HasPrefix(f.Name, "__") {
				return " { " + f.Name + " }"
			}
		}
		return " { __typename }"
	case ast.Interface, ast.Union:
		return " { __typename }"
	}
	return ""
}

// renderArgs renders the arguments of f: every non-null one with a sample,
// and the one at position at (if any) with null in it.
func renderArgs(schema *ast.Schema, f *ast.FieldDefinition, at []string, null string) string {
	var out []string
	for _, a := range f.Arguments {
		switch {
		case len(at) > 0 && a.Name == at[0]:
			out = append(out, a.Name+": "+valueWithNull(schema, a.Type, at[1:], null))
		case a.Type.NonNull:
			out = append(out, a.Name+": "+sampleValue(schema, a.Type))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "(" + strings.Join(out, ", ") + ")"
}

// nullArgumentCases generates, from the partner schema (a superset of the
// public one), a request for every field with arguments, reached from each
// root type, with null in each nullable argument position: once as the
// literal null and once through a nullable variable set to null.
func nullArgumentCases(svc *Service) []nullCase {
	schema := svc.partner
	var out []nullCase
	for _, root := range []*ast.Definition{schema.Query, schema.Mutation} {
		keyword := "query"
		if root == schema.Mutation {
			keyword = "mutation"
		}
		paths := shortestPaths(schema, root)
		names := make([]string, 0, len(schema.Types))
		for name := range schema.Types {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			typ := schema.Types[name]
			path, reachable := paths[name]
			if typ.Kind != ast.Object || typ.BuiltIn || !reachable || (typ != root && (typ == schema.Query || typ == schema.Mutation)) {
				continue
			}
			for _, f := range typ.Fields {
				for _, a := range f.Arguments {
					nullPositions(schema, a.Type, []string{a.Name}, 3, func(at []string, t *ast.Type) {
						for _, viaVar := range []bool{false, true} {
							c := nullCase{name: keyword + " " + typ.Name + "." + f.Name + "(" + strings.Join(at, ".") + ")", public: isPublic(svc.public, root.Name, path, typ.Name, f.Name)}
							null, head := "null", keyword
							if viaVar {
								c.name += " via variable"
								null, head = "$v", keyword+"($v: "+t.String()+")"
								c.vars = map[string]any{"v": nil}
							}
							var b strings.Builder
							b.WriteString(head + " {")
							for _, st := range path {
								b.WriteString(" " + st.field.Name + renderArgs(schema, st.field, nil, "") + " {")
								if st.on != "" {
									b.WriteString(" ... on " + st.on + " {")
								}
							}
							b.WriteString(" " + f.Name + renderArgs(schema, f, at, null) + leafSelection(schema, schema.Types[f.Type.Name()]))
							for _, st := range path {
								b.WriteString(" }")
								if st.on != "" {
									b.WriteString(" }")
								}
							}
							b.WriteString(" }")
							c.query = b.String()
							out = append(out, c)
						}
					})
				}
			}
		}
	}
	return out
}

// isPublic reports whether every field of the path from root and the
// field under test exists in the public schema.
func isPublic(public *ast.Schema, root string, path []pathStep, typ, field string) bool {
	cur := root
	for _, st := range path {
		def := public.Types[cur]
		if def == nil || def.Fields.ForName(st.field.Name) == nil {
			return false
		}
		cur = st.field.Type.Name()
		if st.on != "" {
			cur = st.on
		}
	}
	def := public.Types[typ]
	return def != nil && def.Fields.ForName(field) != nil
}

// TestNullArguments sends null in every nullable argument position of every
// field of the schema, literally and through a variable: each request must
// answer 200 with data or an error the client can act on, never a panic, a
// 500 or an internal error.
func TestNullArguments(t *testing.T) {
	h := newHarness(t, Limits{})
	cases := nullArgumentCases(h.svc)
	var names []string
	for _, c := range cases {
		names = append(names, c.name)
	}
	// The generator must reach the arguments that panicked once.
	for _, want := range []string{
		"query Query.cases(first)", "query Query.users(first)", "query Case.notes(first) via variable",
		"mutation Case.notes(first)", "query Query.cases(filter.status)", "mutation Mutation.updateCase(input.tags)",
		"query Query.auditExport(since)",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("no generated request for %s; generated: %q", want, names)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body map[string]any
			if c.public {
				r := h.post("acme-all", map[string]any{"query": c.query, "variables": c.vars})
				if r.Status != http.StatusOK {
					t.Fatalf("%s: status %d: %v", c.query, r.Status, r.Body)
				}
				body = r.Body
			} else {
				body = runPartner(t, h.svc, c.query, c.vars)
			}
			errs, _ := body["errors"].([]any)
			if _, hasData := body["data"]; !hasData && len(errs) == 0 {
				t.Fatalf("%s: neither data nor errors: %v", c.query, body)
			}
			for _, e := range errs {
				code, _ := e.(map[string]any)["extensions"].(map[string]any)["code"].(string)
				switch code {
				case "":
					t.Errorf("%s: error without extensions.code: %v", c.query, e)
				case CodeInternal:
					t.Errorf("%s: internal error: %v", c.query, e)
				case CodeValidationFailed, CodeParseFailed:
					t.Errorf("%s: the generated document is invalid: %v", c.query, e)
				}
			}
		})
	}
}

// runPartner executes query on the partner schema directly, as a persisted
// operation of an approved bundle would run, and answers the response body.
func runPartner(t *testing.T, svc *Service, query string, vars map[string]any) map[string]any {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("%s panicked: %v", query, v)
		}
	}()
	p := *testPrincipals["acme-all"]
	p.Scopes = append(slices.Clone(p.Scopes), "graphql:bundles")
	var data []byte
	raw, err := json.Marshal(vars) // as the transport would decode them
	if err != nil {
		t.Fatal(err)
	}
	var req gqlRequest
	if err := decodeRequest([]byte(`{"query":`+string(mustJSON(query))+`,"variables":`+string(raw)+`}`), &req); err != nil {
		t.Fatal(err)
	}
	status, resp := svc.execute(context.Background(), &p, svc.partner, svc.prepare(svc.partner, query), &req, &data)
	rec := httptest.NewRecorder()
	writeResponse(rec, nil, status, resp)
	if status != http.StatusOK {
		t.Fatalf("%s: status %d: %s", query, status, rec.Body)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	return body
}

// TestResolversTolerateAnyArguments calls every resolver that takes
// arguments with each argument absent, null and of every other coerced Go
// type: whatever coercion lets through, a resolver answers a value or an
// error, never a panic.
func TestResolversTolerateAnyArguments(t *testing.T) {
	h := newHarness(t, Limits{})
	p := *testPrincipals["acme-all"]
	parents := map[string]any{"Query": nil, "Mutation": nil, "Case": &Case{ID: "case_x", Notes: []Note{{ID: "n1"}}}}
	// One value of each Go type coercion produces (coerce.go).
	values := []any{nil, true, "case_acme_1001", "", int64(-1), int64(1), 1.5, testNow, []any{}, []any{nil}, []any{"a", int64(1)}, map[string]any{}, map[string]any{"title": int64(1), "tags": "x"}}
	schema := h.svc.partner
	for name, typ := range schema.Types {
		if typ.Kind != ast.Object || strings.HasPrefix(name, "__") { // introspection is refused
			continue
		}
		for _, f := range typ.Fields {
			if len(f.Arguments) == 0 || strings.HasPrefix(f.Name, "__") {
				continue
			}
			parent, ok := parents[name]
			if !ok {
				t.Errorf("%s.%s takes arguments: give the test a %s parent", name, f.Name, name)
				continue
			}
			resolve := h.svc.fields[f].resolve
			for _, a := range f.Arguments {
				for _, v := range append(values, "absent") {
					args := map[string]any{}
					for _, other := range f.Arguments {
						args[other.Name] = sampleCoerced(schema, other.Type)
					}
					if v == "absent" {
						delete(args, a.Name)
					} else {
						args[a.Name] = v
					}
					func() {
						defer func() {
							if r := recover(); r != nil {
								t.Errorf("%s.%s(%s: %#v) panicked: %v", name, f.Name, a.Name, v, r)
							}
						}()
						ex := &execution{ctx: context.Background(), svc: h.svc, schema: schema, principal: &p}
						_, _ = resolve(ex, parent, args)
					}()
				}
			}
		}
	}
}

// sampleCoerced is a valid coerced value of t.
func sampleCoerced(schema *ast.Schema, t *ast.Type) any {
	if t.Elem != nil {
		return []any{sampleCoerced(schema, t.Elem)}
	}
	def := schema.Types[t.NamedType]
	switch {
	case def.Kind == ast.Enum:
		return def.EnumValues[0].Name
	case def.Kind == ast.InputObject:
		return map[string]any{}
	case def.Name == "Int":
		return int64(defaultPage)
	case def.Name == "DateTime":
		return testNow
	}
	return "case_acme_1002"
}
