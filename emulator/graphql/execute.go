package graphql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/vektah/gqlparser/v2/ast"
)

// internalMessage is the message of every internal field error; the log
// has the cause, under the request id.
const internalMessage = "internal error; quote the request id when reporting it"

// resolveFunc resolves one field of an object type. parent is the object
// value; args are the coerced arguments, which a resolver must neither
// modify nor keep beyond the call: constant arguments are shared by every
// execution of a document, and the others are written into one map an
// execution reuses from field to field.
type resolveFunc func(ex *execution, parent any, args map[string]any) (any, error)

// typed is implemented by values of abstract types so the executor can
// resolve their concrete object type (spec §6.4.3 ResolveAbstractType).
type typed interface{ graphQLType() string }

// execution is the state of executing one operation (spec §6). Fields run
// one after another, which is also the serial execution mutations need.
//
// The result is written as JSON into out while the operation runs, in the
// order of the selection sets (§7.2.2 ordered maps), instead of being built
// as maps and marshalled afterwards. A value that must become null through
// non-null propagation (§6.4.4) is cut from out again: every complete and
// execute method either appends one whole JSON value and returns true, or
// appends nothing and returns false.
type execution struct {
	ctx    context.Context
	svc    *Service
	schema *ast.Schema
	doc    *ast.QueryDocument
	// args are the document's constant arguments (prepared.args).
	args map[*ast.Field]map[string]any
	// argBuf holds the arguments of the field being resolved when they
	// are not constant; see resolveFunc.
	argBuf    map[string]any
	vars      map[string]any
	principal *core.Principal
	errors    []*gqlError
	out       []byte
	// path is the response path of the value being completed; only errors
	// materialise it. It starts in pathBuf, deep enough for most queries.
	path    []pathElem
	pathBuf [8]pathElem
}

// logger returns the service's logger with the request id: only errors
// log, so it is built when one does rather than for every request.
func (ex *execution) logger() *slog.Logger { return core.Logger(ex.ctx, ex.svc.log) }

// pathElem is one step of a response path: a response key, or a list
// index when key is empty (response keys never are).
type pathElem struct {
	key   string
	index int
}

// pathSlice materialises the current response path for an error (§7.1.2).
func (ex *execution) pathSlice() []any {
	out := make([]any, len(ex.path))
	for i, e := range ex.path {
		if e.key != "" {
			out[i] = e.key
		} else {
			out[i] = e.index
		}
	}
	return out
}

// executeOperation runs op's root selection set (spec §6.2) and appends the
// data entry to ex.out: null when a non-null error reached the root.
func (ex *execution) executeOperation(op *ast.OperationDefinition) {
	var root *ast.Definition
	if op.Operation == ast.Mutation {
		root = ex.schema.Mutation
	} else {
		root = ex.schema.Query
	}
	if !ex.executeSelectionSet(op.SelectionSet, root, nil) {
		ex.out = append(ex.out, "null"...)
	}
}

// executeSelectionSet implements ExecuteSelectionSet (§6.3), appending the
// object. It returns false, having appended nothing, when a non-null field
// failed and the object itself must become null.
func (ex *execution) executeSelectionSet(set ast.SelectionSet, typ *ast.Definition, value any) bool {
	var visited map[string]bool
	var scratch [8]fieldGroup // typical selection sets fit: no allocation
	groups := ex.collectFields(typ, set, &visited, scratch[:0])
	mark := len(ex.out)
	ex.out = append(ex.out, '{')
	for i := range groups {
		g := &groups[i]
		if i > 0 {
			ex.out = append(ex.out, ',')
		}
		// Response keys are GraphQL names ([_A-Za-z][_0-9A-Za-z]*, §2.1.9):
		// nothing in them needs escaping.
		ex.out = append(ex.out, '"')
		ex.out = append(ex.out, g.key...)
		ex.out = append(ex.out, '"', ':')
		ex.path = append(ex.path, pathElem{key: g.key})
		ok := ex.executeField(typ, value, g)
		ex.path = ex.path[:len(ex.path)-1]
		if !ok {
			ex.out = ex.out[:mark]
			return false
		}
	}
	ex.out = append(ex.out, '}')
	return true
}

// fieldPlan is what executing a field of an object type needs from the
// schema, looked up once at start-up rather than per field and request.
type fieldPlan struct {
	resolve resolveFunc
	// scope is the @requiresScope of the field, "" for none.
	scope string
	// named is the definition of the field type's named type.
	named *ast.Definition
}

// planFields indexes the plan of every field of the object types of the
// schemas by its definition (each schema has its own definitions).
func planFields(resolvers map[string]map[string]resolveFunc, schemas ...*ast.Schema) map[*ast.FieldDefinition]fieldPlan {
	plans := map[*ast.FieldDefinition]fieldPlan{}
	for _, schema := range schemas {
		for name, typ := range schema.Types {
			if typ.Kind != ast.Object {
				continue
			}
			for _, def := range typ.Fields {
				p := fieldPlan{resolve: resolvers[name][def.Name], named: schema.Types[def.Type.Name()]}
				if d := def.Directives.ForName("requiresScope"); d != nil {
					p.scope = d.Arguments.ForName("scope").Value.Raw
				}
				plans[def] = p
			}
		}
	}
	return plans
}

// executeField implements ExecuteField (§6.4): arguments, scope check,
// resolver, then value completion.
//
// A panic below the field (a resolver bug) becomes an internal field
// error at this path, like a resolver's error: the rest of the response
// stands, above all the data of a mutation that has already committed,
// which a 500 would make the client retry.
func (ex *execution) executeField(typ *ast.Definition, parent any, g *fieldGroup) (ok bool) {
	field := g.field
	if field.Name == "__typename" {
		ex.out = appendString(ex.out, typ.Name)
		return true
	}
	def := field.Definition
	if field.ObjectDefinition != typ { // selected through an interface or union
		def = typ.Fields.ForName(field.Name)
	}
	mark, depth := len(ex.out), len(ex.path)
	defer func() {
		if v := recover(); v != nil {
			ex.logger().Error("graphql resolver panicked", "field", typ.Name+"."+field.Name, "panic", v, "stack", string(debug.Stack()))
			ex.out, ex.path = ex.out[:mark], ex.path[:depth]
			ok = ex.fieldFailed(def.Type, newError(CodeInternal, internalMessage), field)
		}
	}()
	plan := ex.svc.fields[def]
	args, err := ex.arguments(def, field)
	if err != nil {
		return ex.fieldFailed(def.Type, newError(CodeBadUserInput, err.Error()), field)
	}
	if plan.scope != "" && !ex.principal.HasScope(plan.scope) {
		return ex.fieldFailed(def.Type, newError(CodeForbidden, "the access token lacks the "+plan.scope+" scope this field requires").with("scope", plan.scope), field)
	}
	result, err := plan.resolve(ex, parent, args)
	if err != nil {
		var fe *fieldError
		if !errors.As(err, &fe) {
			ex.logger().Error("graphql resolver failed", "field", typ.Name+"."+field.Name, "err", err)
			fe = &fieldError{code: CodeInternal, message: internalMessage}
		}
		return ex.fieldFailed(def.Type, fe.gqlError(), field)
	}
	return ex.completeValue(def.Type, plan.named, g, result)
}

// arguments implements CoerceArgumentValues (§6.4.1) for field, taking the
// document's constant arguments when they apply: the field was validated
// against def itself (selected on this object type, not through an
// interface, whose definition may lack arguments with defaults).
func (ex *execution) arguments(def *ast.FieldDefinition, field *ast.Field) (map[string]any, error) {
	if len(def.Arguments) == 0 {
		return nil, nil
	}
	if args, ok := ex.args[field]; ok && field.Definition == def {
		return args, nil
	}
	if ex.argBuf == nil {
		ex.argBuf = make(map[string]any, len(def.Arguments))
	} else {
		clear(ex.argBuf)
	}
	return coerceArgumentsInto(ex.argBuf, ex.schema, def.Arguments, field.Arguments, ex.vars)
}

// fieldError records a field error (§6.4.4) at the current path.
func (ex *execution) fieldError(e *gqlError, field *ast.Field) {
	e.at(field.Position)
	e.Path = ex.pathSlice()
	ex.errors = append(ex.errors, e)
}

// fieldFailed records a field error and appends null, unless t is non-null:
// then it appends nothing and returns false, so the parent becomes null.
func (ex *execution) fieldFailed(t *ast.Type, e *gqlError, field *ast.Field) bool {
	ex.fieldError(e, field)
	if t.NonNull {
		return false
	}
	ex.out = append(ex.out, "null"...)
	return true
}

// completeValue implements CompleteValue (§6.4.3), including the handling
// of null for non-null types: false propagates null upwards. named is the
// definition of t's named type.
func (ex *execution) completeValue(t *ast.Type, named *ast.Definition, g *fieldGroup, result any) bool {
	if t.NonNull {
		if isNil(result) {
			f := g.field
			ex.fieldError(newError(CodeInternal, "Cannot return null for non-nullable field "+f.ObjectDefinition.Name+"."+f.Name+"."), f)
			return false
		}
		return ex.completeNullable(t, named, g, result)
	}
	if !ex.completeNullable(t, named, g, result) {
		ex.out = append(ex.out, "null"...)
	}
	return true
}

// completeNullable completes result as t without its non-null flag. It
// returns false, having appended nothing, when the value must become null.
func (ex *execution) completeNullable(t *ast.Type, named *ast.Definition, g *fieldGroup, result any) bool {
	if isNil(result) {
		ex.out = append(ex.out, "null"...)
		return true
	}
	if t.Elem != nil {
		mark := len(ex.out)
		ex.out = append(ex.out, '[')
		for i, item := range toList(result) {
			if i > 0 {
				ex.out = append(ex.out, ',')
			}
			ex.path = append(ex.path, pathElem{index: i})
			ok := ex.completeValue(t.Elem, named, g, item)
			ex.path = ex.path[:len(ex.path)-1]
			if !ok {
				ex.out = ex.out[:mark]
				return false
			}
		}
		ex.out = append(ex.out, ']')
		return true
	}
	def := named
	switch def.Kind {
	case ast.Scalar, ast.Enum:
		out, err := appendLeaf(ex.out, def, result)
		if err != nil {
			ex.logger().Error("graphql leaf serialization failed", "type", def.Name, "err", err)
			ex.fieldError(newError(CodeInternal, internalMessage), g.field)
			return false
		}
		ex.out = out
		return true
	}
	objType := def
	if def.IsAbstractType() {
		tv, ok := result.(typed)
		if !ok {
			ex.fieldError(newError(CodeInternal, internalMessage), g.field)
			return false
		}
		objType = ex.schema.Types[tv.graphQLType()]
	}
	return ex.executeSelectionSet(g.selectionSet(), objType, result)
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

// appendLeaf implements the result coercion of scalars and enums (§3.5,
// §3.9), appending the JSON value to dst. Resolvers may answer a string,
// int or time.Time or a pointer to one (which spares copying it into an
// interface). On error dst is returned as it was.
func appendLeaf(dst []byte, def *ast.Definition, v any) ([]byte, error) {
	switch p := v.(type) {
	case *string:
		return appendLeafString(dst, def, *p)
	case string:
		return appendLeafString(dst, def, p)
	case *int:
		return appendLeafGoInt(dst, def, *p)
	case int:
		return appendLeafGoInt(dst, def, p)
	case int64:
		return appendLeafInt(dst, def, p)
	case *time.Time:
		return appendLeafTime(dst, def, *p)
	case time.Time:
		return appendLeafTime(dst, def, p)
	}
	if def.Kind == ast.Enum {
		return dst, fmt.Errorf("%v is not a value of %s", v, def.Name)
	}
	switch def.Name {
	case "Float":
		if f, ok := v.(float64); ok {
			raw, err := json.Marshal(f)
			if err != nil { // NaN and infinities have no JSON form
				return dst, err
			}
			return append(dst, raw...), nil
		}
	case "Boolean":
		if b, ok := v.(bool); ok {
			return strconv.AppendBool(dst, b), nil
		}
	}
	return dst, fmt.Errorf("%T is not a %s", v, def.Name)
}

func appendLeafString(dst []byte, def *ast.Definition, s string) ([]byte, error) {
	switch {
	case def.Kind == ast.Enum:
		if def.EnumValues.ForName(s) == nil {
			return dst, fmt.Errorf("%v is not a value of %s", s, def.Name)
		}
	case def.Name != "String" && def.Name != "ID":
		return dst, fmt.Errorf("string is not a %s", def.Name)
	}
	return appendString(dst, s), nil
}

// appendLeafGoInt serializes an int, which only Int fields answer (String
// and ID fields answer int64 ids).
func appendLeafGoInt(dst []byte, def *ast.Definition, n int) ([]byte, error) {
	if def.Kind == ast.Enum || def.Name != "Int" {
		return dst, fmt.Errorf("int is not a %s", def.Name)
	}
	return appendLeafInt(dst, def, int64(n))
}

func appendLeafInt(dst []byte, def *ast.Definition, n int64) ([]byte, error) {
	switch {
	case def.Kind == ast.Enum:
		return dst, fmt.Errorf("%v is not a value of %s", n, def.Name)
	case def.Name == "Int":
		if n > math.MaxInt32 || n < math.MinInt32 {
			return dst, fmt.Errorf("%d overflows Int", n)
		}
		return strconv.AppendInt(dst, n, 10), nil
	case def.Name == "String" || def.Name == "ID":
		dst = append(dst, '"')
		dst = strconv.AppendInt(dst, n, 10)
		return append(dst, '"'), nil
	}
	return dst, fmt.Errorf("int64 is not a %s", def.Name)
}

func appendLeafTime(dst []byte, def *ast.Definition, t time.Time) ([]byte, error) {
	if def.Kind == ast.Enum || def.Name != "DateTime" {
		return dst, fmt.Errorf("time.Time is not a %s", def.Name)
	}
	// RFC 3339 text has nothing to escape.
	dst = append(dst, '"')
	dst = t.UTC().AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"'), nil
}
