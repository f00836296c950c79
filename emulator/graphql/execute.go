package graphql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/vektah/gqlparser/v2/ast"
)

// resolveFunc resolves one field of an object type. parent is the object
// value; args are the coerced arguments.
type resolveFunc func(ex *execution, parent any, args map[string]any) (any, error)

// typed is implemented by values of abstract types so the executor can
// resolve their concrete object type (spec §6.4.3 ResolveAbstractType).
type typed interface{ graphQLType() string }

// execution is the state of executing one operation (spec §6). Fields run
// one after another, which is also the serial execution mutations need.
type execution struct {
	ctx       context.Context
	svc       *Service
	schema    *ast.Schema
	doc       *ast.QueryDocument
	vars      map[string]any
	principal *core.Principal
	errors    []*gqlError
	log       *slog.Logger
}

// path is a response path built as a linked list so that only errors pay
// for materialising it.
type path struct {
	parent *path
	key    string
	index  int
}

func (p *path) slice() []any {
	var out []any
	for q := p; q != nil; q = q.parent {
		if q.key != "" {
			out = append(out, q.key)
		} else {
			out = append(out, q.index)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// executeOperation runs op's root selection set (spec §6.2) and returns the
// data entry: nil when a non-null error reached the root.
func (ex *execution) executeOperation(op *ast.OperationDefinition) any {
	var root *ast.Definition
	if op.Operation == ast.Mutation {
		root = ex.schema.Mutation
	} else {
		root = ex.schema.Query
	}
	obj, ok := ex.executeSelectionSet(op.SelectionSet, root, nil, nil)
	if !ok {
		return nil
	}
	return obj
}

// executeSelectionSet implements ExecuteSelectionSet (§6.3). ok is false
// when a non-null field failed and the object itself must become null.
func (ex *execution) executeSelectionSet(set ast.SelectionSet, typ *ast.Definition, value any, at *path) (*object, bool) {
	var visited map[string]bool
	groups := ex.collectFields(typ, set, &visited, make([]fieldGroup, 0, len(set)))
	obj := &object{entries: make([]entry, 0, len(groups))}
	for _, g := range groups {
		v, ok := ex.executeField(typ, value, &g, &path{parent: at, key: g.key})
		if !ok {
			return nil, false
		}
		obj.set(g.key, v)
	}
	return obj, true
}

// executeField implements ExecuteField (§6.4): arguments, scope check,
// resolver, then value completion.
func (ex *execution) executeField(typ *ast.Definition, parent any, g *fieldGroup, at *path) (any, bool) {
	field := g.field
	if field.Name == "__typename" {
		return typ.Name, true
	}
	def := typ.Fields.ForName(field.Name)
	args, err := coerceArguments(ex.schema, def.Arguments, field.Arguments, ex.vars)
	if err != nil {
		return ex.fieldFailed(def.Type, newError(CodeBadUserInput, err.Error()), field, at)
	}
	if d := def.Directives.ForName("requiresScope"); d != nil {
		scope := d.Arguments.ForName("scope").Value.Raw
		if !ex.principal.HasScope(scope) {
			return ex.fieldFailed(def.Type, newError(CodeForbidden, "the access token lacks the "+scope+" scope this field requires").with("scope", scope), field, at)
		}
	}
	resolve := ex.svc.resolvers[typ.Name][field.Name]
	result, err := resolve(ex, parent, args)
	if err != nil {
		var fe *fieldError
		if !errors.As(err, &fe) {
			ex.log.Error("graphql resolver failed", "field", typ.Name+"."+field.Name, "err", err)
			fe = &fieldError{code: CodeInternal, message: "internal error; quote the request id when reporting it"}
		}
		return ex.fieldFailed(def.Type, newError(fe.code, fe.message), field, at)
	}
	return ex.completeValue(def.Type, g, result, at)
}

// fieldFailed records a field error (§6.4.4) and answers null, which a
// non-null type then propagates to the parent.
func (ex *execution) fieldFailed(t *ast.Type, e *gqlError, field *ast.Field, at *path) (any, bool) {
	e.at(field.Position)
	e.Path = at.slice()
	ex.errors = append(ex.errors, e)
	return nil, !t.NonNull
}

// completeValue implements CompleteValue (§6.4.3), including the handling
// of null for non-null types: ok false propagates null upwards.
func (ex *execution) completeValue(t *ast.Type, g *fieldGroup, result any, at *path) (any, bool) {
	if t.NonNull {
		v, ok := ex.completeNullable(t, g, result, at)
		if !ok {
			return nil, false
		}
		if v == nil {
			f := g.field
			return ex.fieldFailed(t, newError(CodeInternal, "Cannot return null for non-nullable field "+f.ObjectDefinition.Name+"."+f.Name+"."), f, at)
		}
		return v, true
	}
	v, ok := ex.completeNullable(t, g, result, at)
	if !ok {
		return nil, true
	}
	return v, true
}

func (ex *execution) completeNullable(t *ast.Type, g *fieldGroup, result any, at *path) (any, bool) {
	if isNil(result) {
		return nil, true
	}
	if t.Elem != nil {
		items := toList(result)
		out := make([]any, len(items))
		for i, item := range items {
			v, ok := ex.completeValue(t.Elem, g, item, &path{parent: at, index: i})
			if !ok {
				return nil, false
			}
			out[i] = v
		}
		return out, true
	}
	def := ex.schema.Types[t.NamedType]
	switch def.Kind {
	case ast.Scalar, ast.Enum:
		v, err := serializeLeaf(def, result)
		if err != nil {
			ex.log.Error("graphql leaf serialization failed", "type", def.Name, "err", err)
			return ex.fieldFailed(&ast.Type{NonNull: true}, newError(CodeInternal, "internal error; quote the request id when reporting it"), g.field, at)
		}
		return v, true
	}
	objType := def
	if def.IsAbstractType() {
		tv, ok := result.(typed)
		if !ok {
			return ex.fieldFailed(&ast.Type{NonNull: true}, newError(CodeInternal, "internal error; quote the request id when reporting it"), g.field, at)
		}
		objType = ex.schema.Types[tv.graphQLType()]
	}
	obj, ok := ex.executeSelectionSet(g.selectionSet(), objType, result, at)
	if !ok {
		return nil, false
	}
	return obj, true
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

func toList(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	}
	rv := reflect.ValueOf(v)
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out
}

// serializeLeaf implements the result coercion of scalars and enums
// (§3.5, §3.9).
func serializeLeaf(def *ast.Definition, v any) (any, error) {
	if def.Kind == ast.Enum {
		s, ok := v.(string)
		if !ok || def.EnumValues.ForName(s) == nil {
			return nil, fmt.Errorf("%v is not a value of %s", v, def.Name)
		}
		return s, nil
	}
	switch def.Name {
	case "Int":
		var n int64
		switch x := v.(type) {
		case int:
			n = int64(x)
		case int64:
			n = x
		default:
			return nil, fmt.Errorf("%T is not an Int", v)
		}
		if n > math.MaxInt32 || n < math.MinInt32 {
			return nil, fmt.Errorf("%d overflows Int", n)
		}
		return n, nil
	case "Float":
		if f, ok := v.(float64); ok {
			return f, nil
		}
	case "String", "ID":
		switch x := v.(type) {
		case string:
			return x, nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		}
	case "Boolean":
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case "DateTime":
		if t, ok := v.(time.Time); ok {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
	}
	return nil, fmt.Errorf("%T is not a %s", v, def.Name)
}
