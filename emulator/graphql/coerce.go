package graphql

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// Input coercion is written here rather than taken from gqlparser's
// validator.VariableValues because that one accepts strings for Int and
// matches enum values case-insensitively, both of which the spec forbids
// (§3.5.1, §3.9). Coerced values are: nil, bool, string, int64, float64,
// time.Time, []any and map[string]any.

// coerceVariables implements CoerceVariableValues (spec §6.1.2). Variables
// arrive decoded with json.Decoder.UseNumber so integers stay exact.
//
// The values are coerced in place: input was decoded for this request
// alone. Entries the operation does not define stay in it unused
// (validation refuses any use of an undefined variable).
func coerceVariables(schema *ast.Schema, op *ast.OperationDefinition, input map[string]any) (map[string]any, *gqlError) {
	out := input
	if out == nil && len(op.VariableDefinitions) > 0 {
		out = make(map[string]any, len(op.VariableDefinitions))
	}
	for _, def := range op.VariableDefinitions {
		name := def.Variable
		v, present := input[name]
		switch {
		case !present && def.DefaultValue != nil:
			c, err := coerceLiteral(schema, def.DefaultValue, def.Type, nil)
			if err != nil {
				return nil, newError(CodeBadUserInput, fmt.Sprintf("Variable \"$%s\" has an invalid default value: %s.", name, err)).at(def.Position)
			}
			out[name] = c
		case !present && def.Type.NonNull:
			return nil, newError(CodeBadUserInput, fmt.Sprintf("Variable \"$%s\" of required type \"%s\" was not provided.", name, def.Type)).at(def.Position)
		case !present:
		case v == nil && def.Type.NonNull:
			return nil, newError(CodeBadUserInput, fmt.Sprintf("Variable \"$%s\" of non-null type \"%s\" must not be null.", name, def.Type)).at(def.Position)
		default:
			c, err := coerceInput(schema, v, def.Type, "")
			if err != nil {
				return nil, newError(CodeBadUserInput, fmt.Sprintf("Variable \"$%s\" got an invalid value%s.", name, err)).at(def.Position)
			}
			out[name] = c
		}
	}
	return out, nil
}

// coerceInput coerces a JSON variable value to t (spec §3 input coercion of
// each kind). The error text names the offending position inside the
// value.
func coerceInput(schema *ast.Schema, v any, t *ast.Type, at string) (any, error) {
	if v == nil {
		if t.NonNull {
			return nil, fmt.Errorf("%s: null for a non-null type %s", where(at), t)
		}
		return nil, nil
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok { // §3.11: a single value coerces to a list of one.
			c, err := coerceInput(schema, v, t.Elem, at)
			if err != nil {
				return nil, err
			}
			return []any{c}, nil
		}
		out := make([]any, len(list))
		for i, e := range list {
			c, err := coerceInput(schema, e, t.Elem, at+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	def := schema.Types[t.NamedType]
	switch def.Kind {
	case ast.InputObject:
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: expected an object of type %s", where(at), def.Name)
		}
		for k := range m {
			if def.Fields.ForName(k) == nil {
				return nil, fmt.Errorf("%s: field %q is not defined by type %s", where(at), k, def.Name)
			}
		}
		out := make(map[string]any, len(def.Fields))
		for _, f := range def.Fields {
			fv, present := m[f.Name]
			switch {
			case !present && f.DefaultValue != nil:
				c, err := coerceLiteral(schema, f.DefaultValue, f.Type, nil)
				if err != nil {
					return nil, err
				}
				out[f.Name] = c
			case !present && f.Type.NonNull:
				return nil, fmt.Errorf("%s: field %s of required type %s was not provided", where(at+"."+f.Name), f.Name, f.Type)
			case present:
				c, err := coerceInput(schema, fv, f.Type, joinPath(at, f.Name))
				if err != nil {
					return nil, err
				}
				out[f.Name] = c
			}
		}
		return out, nil
	case ast.Enum:
		s, ok := v.(string)
		if !ok || def.EnumValues.ForName(s) == nil {
			return nil, fmt.Errorf("%s: not a value of enum %s", where(at), def.Name)
		}
		return s, nil
	}
	c, ok := coerceScalar(def.Name, v)
	if !ok {
		return nil, fmt.Errorf("%s: expected type %s", where(at), def.Name)
	}
	return c, nil
}

func where(at string) string {
	if at == "" {
		return ""
	}
	return " at \"" + strings.TrimPrefix(at, ".") + "\""
}

func joinPath(at, name string) string { return at + "." + name }

// coerceScalar implements the input coercion of the built-in scalars
// (§3.5) and DateTime from JSON values.
func coerceScalar(name string, v any) (any, bool) {
	switch name {
	case "Int":
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		i, err := strconv.ParseInt(string(n), 10, 32) // §3.5.1: 32-bit, no fraction
		return i, err == nil
	case "Float":
		n, ok := v.(json.Number)
		if !ok {
			return nil, false
		}
		f, err := n.Float64()
		return f, err == nil && !math.IsInf(f, 0)
	// A string is answered as the interface value it came in, not copied
	// into a new one.
	case "String":
		_, ok := v.(string)
		return v, ok
	case "Boolean":
		b, ok := v.(bool)
		return b, ok
	case "ID": // §3.5.5: strings and integers, serialized as strings.
		switch x := v.(type) {
		case string:
			return v, true
		case json.Number:
			if _, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return string(x), true
			}
		}
		return nil, false
	case "DateTime":
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		t, err := time.Parse(time.RFC3339, s)
		return t, err == nil
	}
	return nil, false
}

// coerceLiteral coerces a literal of the document (or a default value) to
// t. Variables inside lists and input objects are looked up in vars, which
// holds coerced values already.
func coerceLiteral(schema *ast.Schema, v *ast.Value, t *ast.Type, vars map[string]any) (any, error) {
	if v.Kind == ast.Variable {
		val, ok := vars[v.Raw]
		if (!ok || val == nil) && t.NonNull {
			return nil, fmt.Errorf("variable $%s must not be null", v.Raw)
		}
		return val, nil
	}
	if v.Kind == ast.NullValue {
		if t.NonNull {
			return nil, fmt.Errorf("null for a non-null type %s", t)
		}
		return nil, nil
	}
	if t.Elem != nil {
		if v.Kind != ast.ListValue {
			c, err := coerceLiteral(schema, v, t.Elem, vars)
			if err != nil {
				return nil, err
			}
			return []any{c}, nil
		}
		out := make([]any, 0, len(v.Children))
		for _, ch := range v.Children {
			c, err := coerceLiteral(schema, ch.Value, t.Elem, vars)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	def := schema.Types[t.NamedType]
	switch def.Kind {
	case ast.InputObject:
		if v.Kind != ast.ObjectValue {
			return nil, fmt.Errorf("expected an object of type %s", def.Name)
		}
		out := make(map[string]any, len(def.Fields))
		for _, f := range def.Fields {
			ch := v.Children.ForName(f.Name)
			if ch != nil && ch.Kind == ast.Variable {
				if _, ok := vars[ch.Raw]; !ok {
					ch = nil // an absent variable leaves the field absent (§5.6.1)
				}
			}
			switch {
			case ch == nil && f.DefaultValue != nil:
				c, err := coerceLiteral(schema, f.DefaultValue, f.Type, nil)
				if err != nil {
					return nil, err
				}
				out[f.Name] = c
			case ch == nil && f.Type.NonNull:
				return nil, fmt.Errorf("field %s of required type %s was not provided", f.Name, f.Type)
			case ch != nil:
				c, err := coerceLiteral(schema, ch, f.Type, vars)
				if err != nil {
					return nil, err
				}
				out[f.Name] = c
			}
		}
		return out, nil
	case ast.Enum:
		if v.Kind != ast.EnumValue || def.EnumValues.ForName(v.Raw) == nil {
			return nil, fmt.Errorf("not a value of enum %s", def.Name)
		}
		return v.Raw, nil
	}
	var raw any
	switch v.Kind {
	case ast.IntValue, ast.FloatValue:
		raw = json.Number(v.Raw)
		if def.Name == "ID" && v.Kind == ast.FloatValue {
			raw = nil
		}
	case ast.StringValue, ast.BlockValue:
		raw = v.Raw
	case ast.BooleanValue:
		raw = v.Raw == "true"
	}
	c, ok := coerceScalar(def.Name, raw)
	if !ok {
		return nil, fmt.Errorf("expected type %s", def.Name)
	}
	return c, nil
}

// coerceArguments implements CoerceArgumentValues (spec §6.4.1).
func coerceArguments(schema *ast.Schema, defs ast.ArgumentDefinitionList, args ast.ArgumentList, vars map[string]any) (map[string]any, error) {
	if len(defs) == 0 {
		return nil, nil
	}
	return coerceArgumentsInto(make(map[string]any, len(defs)), schema, defs, args, vars)
}

// coerceArgumentsInto is coerceArguments writing into out, which must be
// empty.
func coerceArgumentsInto(out map[string]any, schema *ast.Schema, defs ast.ArgumentDefinitionList, args ast.ArgumentList, vars map[string]any) (map[string]any, error) {
	for _, def := range defs {
		arg := args.ForName(def.Name)
		var (
			val     any
			present bool
		)
		if arg != nil {
			if arg.Value.Kind == ast.Variable {
				val, present = vars[arg.Value.Raw]
			} else {
				present = true
			}
		}
		switch {
		case !present && def.DefaultValue != nil:
			c, err := coerceLiteral(schema, def.DefaultValue, def.Type, nil)
			if err != nil {
				return nil, err
			}
			out[def.Name] = c
		case def.Type.NonNull && (!present || (arg.Value.Kind == ast.Variable && val == nil)):
			return nil, fmt.Errorf("argument %q of required type %s was not provided", def.Name, def.Type)
		case present && arg.Value.Kind == ast.Variable:
			out[def.Name] = val
		case present:
			c, err := coerceLiteral(schema, arg.Value, def.Type, vars)
			if err != nil {
				return nil, fmt.Errorf("argument %q: %w", def.Name, err)
			}
			out[def.Name] = c
		}
	}
	return out, nil
}
