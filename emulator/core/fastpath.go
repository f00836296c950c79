package core

import (
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"
)

// formMediaType is the form encoding of RFC 6749 §3.2 requests.
const formMediaType = "application/x-www-form-urlencoded"

// fastCheck recognises, without kin-openapi, requests that its validation
// would accept, for operations whose constraints are simple enough to check
// directly: string parameters with a pattern, length bounds or an enum,
// optional parameters without defaults, and form bodies whose schema takes
// any field as a string. It only ever accepts; any request it cannot vouch
// for goes through openapi3filter.ValidateRequest, which reports the
// errors, so every refusal is worded by kin-openapi as before. That
// ValidateRequest accepts whatever accept accepts is checked by
// TestFastCheckAgreesWithKin over the embedded specs.
type fastCheck struct {
	params []fastParam
	// form is set when the operation takes a body and every form that
	// parses satisfies its schema; an operation with another body has no
	// fastCheck.
	form  bool
	query bool // some parameter is in the query
}

// fastParam is one parameter as kin-openapi would validate it.
type fastParam struct {
	name     string
	inPath   bool
	required bool
	// absentOK: leaving the parameter out is valid and changes nothing
	// (kin-openapi writes defaults into the query, so a parameter with a
	// default is not).
	absentOK bool
	// str checks a value that is present; nil sends it to kin-openapi.
	str *stringRule
}

// stringRule is a string schema of type, length bounds, pattern and enum
// only.
type stringRule struct {
	minLength uint64
	maxLength *uint64
	pattern   *regexp.Regexp
	enum      []string
}

// newFastCheck returns the fast check of route (whose operation carries no
// security requirements: the router authenticates), or nil when something
// about the operation needs kin-openapi every time.
func newFastCheck(route *routers.Route) *fastCheck {
	if route.Spec.IsOpenAPI31OrLater() {
		return nil
	}
	fc := &fastCheck{}
	op := route.Operation
	if rb := op.RequestBody; rb != nil {
		if rb.Value == nil {
			return nil
		}
		mt := rb.Value.Content[formMediaType]
		if mt == nil || mt.Schema == nil || !anyFormSchema(mt.Schema.Value) {
			return nil
		}
		fc.form = true
	}
	// Path-item parameters that the operation redeclares are validated in
	// the operation's version only (OpenAPI 3.0 §4.8.9).
	var params []*openapi3.Parameter
	for _, ref := range route.PathItem.Parameters {
		p := ref.Value
		if p == nil {
			return nil
		}
		if op.Parameters != nil && op.Parameters.GetByInAndName(p.In, p.Name) != nil {
			continue
		}
		params = append(params, p)
	}
	for _, ref := range op.Parameters {
		if ref.Value == nil {
			return nil
		}
		params = append(params, ref.Value)
	}
	for _, p := range params {
		fp, ok := newFastParam(p)
		if !ok {
			return nil
		}
		fc.params = append(fc.params, fp)
		fc.query = fc.query || !fp.inPath
	}
	return fc
}

func newFastParam(p *openapi3.Parameter) (fastParam, bool) {
	if p.In != openapi3.ParameterInPath && p.In != openapi3.ParameterInQuery {
		return fastParam{}, false
	}
	if p.Content != nil || p.Schema == nil || p.Schema.Value == nil || p.Style != "" || p.Explode != nil || p.AllowEmptyValue {
		return fastParam{}, false
	}
	s := p.Schema.Value
	fp := fastParam{name: p.Name, inPath: p.In == openapi3.ParameterInPath, required: p.Required}
	fp.absentOK = !p.Required && s.Default == nil && !slices.ContainsFunc(s.AllOf, func(r *openapi3.SchemaRef) bool {
		return r.Value == nil || r.Value.Default != nil
	})
	fp.str = newStringRule(s)
	return fp, true
}

// newStringRule returns the rule of a schema that is a plain string
// schema, or nil.
func newStringRule(s *openapi3.Schema) *stringRule {
	if s.Type == nil || !slices.Equal(*s.Type, openapi3.Types{openapi3.TypeString}) {
		return nil
	}
	// Whatever the schema says beyond what the rule checks leaves it to
	// kin-openapi: the schema must equal one made of these fields only.
	plain := openapi3.Schema{Extensions: s.Extensions, Origin: s.Origin, Type: s.Type, Title: s.Title,
		Description: s.Description, Example: s.Example, Default: s.Default, Deprecated: s.Deprecated,
		Enum: s.Enum, MinLength: s.MinLength, MaxLength: s.MaxLength, Pattern: s.Pattern}
	if !reflect.DeepEqual(plain, *s) {
		return nil
	}
	rule := &stringRule{minLength: s.MinLength, maxLength: s.MaxLength}
	for _, v := range s.Enum {
		e, ok := v.(string)
		if !ok {
			return nil
		}
		rule.enum = append(rule.enum, e)
	}
	if s.Pattern != "" {
		// kin-openapi rewrites \uXXXX escapes before compiling; patterns
		// without them compile the same with regexp.Compile.
		if strings.Contains(s.Pattern, `\u`) {
			return nil
		}
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return nil
		}
		rule.pattern = re
	}
	return rule
}

// ok reports whether the schema accepts v.
func (sr *stringRule) ok(v string) bool {
	if sr.minLength != 0 || sr.maxLength != nil {
		// JSON Schema counts UTF-16 code units, as kin-openapi does.
		n := uint64(0)
		for _, r := range v {
			if utf16.IsSurrogate(r) {
				n += 2
			} else {
				n++
			}
		}
		if n < sr.minLength || sr.maxLength != nil && n > *sr.maxLength {
			return false
		}
	}
	if sr.enum != nil && !slices.Contains(sr.enum, v) {
		return false
	}
	return sr.pattern == nil || sr.pattern.MatchString(v)
}

// anyFormSchema reports whether s accepts every form-decoded body: an
// object with no required fields whose properties are strings or arrays of
// strings without constraints, and other fields allowed.
func anyFormSchema(s *openapi3.Schema) bool {
	if s == nil || s.Type == nil || !slices.Equal(*s.Type, openapi3.Types{openapi3.TypeObject}) {
		return false
	}
	ap := s.AdditionalProperties
	if ap.Schema != nil || ap.Has != nil && !*ap.Has {
		return false
	}
	plain := openapi3.Schema{Extensions: s.Extensions, Origin: s.Origin, Type: s.Type, Title: s.Title,
		Description: s.Description, Example: s.Example, Properties: s.Properties, AdditionalProperties: ap}
	if !reflect.DeepEqual(plain, *s) {
		return false
	}
	for _, ref := range s.Properties {
		p := ref.Value
		if p == nil || p.Type == nil {
			return false
		}
		switch {
		case slices.Equal(*p.Type, openapi3.Types{openapi3.TypeString}):
			if !plainSchema(p, nil) {
				return false
			}
		case slices.Equal(*p.Type, openapi3.Types{openapi3.TypeArray}):
			if p.Items == nil || !plainSchema(p, p.Items) || p.Items.Value == nil || p.Items.Value.Type == nil ||
				!slices.Equal(*p.Items.Value.Type, openapi3.Types{openapi3.TypeString}) || !plainSchema(p.Items.Value, nil) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// plainSchema reports whether s has nothing but its type, items and
// annotations.
func plainSchema(s *openapi3.Schema, items *openapi3.SchemaRef) bool {
	plain := openapi3.Schema{Extensions: s.Extensions, Origin: s.Origin, Type: s.Type, Title: s.Title,
		Description: s.Description, Example: s.Example, Items: items}
	return reflect.DeepEqual(plain, *s)
}

// accept reports whether kin-openapi would accept r. formOK says the body
// was read and is a form that parses (only meaningful with fc.form).
func (fc *fastCheck) accept(r *http.Request, formOK bool) bool {
	if fc.form {
		if !formOK {
			return false
		}
	} else if r.ContentLength > 0 {
		return false // a body where none is specified
	}
	var query url.Values
	if fc.query && r.URL.RawQuery != "" {
		query = r.URL.Query()
	}
	for i := range fc.params {
		p := &fc.params[i]
		var v string
		if p.inPath {
			v = r.PathValue(p.name)
		} else if vs, present := query[p.name]; present {
			if len(vs) != 1 {
				return false
			}
			v = vs[0]
			if v == "" {
				return false // an empty value is an error unless allowed
			}
		}
		if v == "" {
			if !p.absentOK {
				return false
			}
			continue
		}
		if p.str == nil || !p.str.ok(v) {
			return false
		}
	}
	return true
}

// parseForm parses a form body as kin-openapi's form decoder does, with
// url.ParseQuery; ok is false for an empty body or one it refuses.
func parseForm(data []byte) (vals url.Values, ok bool) {
	if len(data) == 0 {
		return nil, false
	}
	vals, err := url.ParseQuery(string(data))
	return vals, err == nil
}
