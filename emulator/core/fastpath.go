package core

import (
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers"

	"github.com/knogin/argus-sandbox/internal/jsonscan"
)

// formMediaType is the form encoding of RFC 6749 §3.2 requests;
// jsonMediaType that of every other body.
const (
	formMediaType = "application/x-www-form-urlencoded"
	jsonMediaType = "application/json"
)

// fastCheck recognises, without kin-openapi, requests that its validation
// would accept, for operations whose constraints are simple enough to check
// directly: string parameters with a pattern, length bounds or an enum,
// optional parameters without defaults, form bodies whose schema takes any
// field as a string, and JSON objects whose fields are strings or free-form
// objects (the GraphQL request). It only ever accepts (fastAccept); any
// request it cannot vouch for goes through openapi3filter.ValidateRequest
// (kinValidator), which reports the errors, so every refusal is worded by
// kin-openapi. That ValidateRequest accepts whatever accept accepts is
// checked by TestFastCheckAgreesWithKin over the embedded specs.
type fastCheck struct {
	params []fastParam
	// form is set when every form body that parses satisfies the
	// operation's schema, json when its JSON body has a jsonObjectRule; an
	// operation with a body that neither covers has no fastCheck.
	form  bool
	json  *jsonObjectRule
	query bool // some parameter is in the query
}

// fastParam is one parameter as kin-openapi would validate it.
type fastParam struct {
	name     string
	inPath   bool
	inHeader bool
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
		// The router leaves the parsed form in r.PostForm, where
		// Request.ParseForm puts it for these methods only.
		formMethod := route.Method == http.MethodPost || route.Method == http.MethodPut || route.Method == http.MethodPatch
		// An encoding object changes how kin-openapi decodes the body (and
		// one named "" restricts its media type): those bodies are its.
		if mt := rb.Value.Content[formMediaType]; formMethod && mt != nil && mt.Schema != nil && len(mt.Encoding) == 0 && anyFormSchema(mt.Schema.Value) {
			fc.form = true
		}
		if mt := rb.Value.Content[jsonMediaType]; mt != nil && mt.Schema != nil && len(mt.Encoding) == 0 {
			fc.json = newJSONObjectRule(mt.Schema.Value)
		}
		if !fc.form && fc.json == nil {
			return nil
		}
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
		fc.query = fc.query || !fp.inPath && !fp.inHeader
	}
	return fc
}

func newFastParam(p *openapi3.Parameter) (fastParam, bool) {
	if p.In != openapi3.ParameterInPath && p.In != openapi3.ParameterInQuery && p.In != openapi3.ParameterInHeader {
		return fastParam{}, false
	}
	if p.Content != nil || p.Schema == nil || p.Schema.Value == nil || p.Style != "" || p.Explode != nil || p.AllowEmptyValue {
		return fastParam{}, false
	}
	s := p.Schema.Value
	fp := fastParam{name: p.Name, inPath: p.In == openapi3.ParameterInPath, inHeader: p.In == openapi3.ParameterInHeader, required: p.Required}
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
		// Counted exactly as kin-openapi counts: its UTF-16 count tests
		// decoded runes with utf16.IsSurrogate, never true for one, so it
		// counts code points (an emoji is 1, not 2), each invalid byte
		// being one U+FFFD.
		n := uint64(utf8.RuneCountInString(v))
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

// accept reports whether kin-openapi would accept r. bodyOK says the body
// was read and satisfies the schema: a form that parses (fc.form) or a JSON
// object fc.json accepts.
func (fc *fastCheck) accept(r *http.Request, bodyOK bool) bool {
	if fc.form || fc.json != nil {
		if !bodyOK {
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
		} else if p.inHeader {
			// An optional header (Idempotency-Key): one non-empty value is
			// checked here, anything else is kin-openapi's to judge.
			if vs := r.Header.Values(p.name); len(vs) > 1 || len(vs) == 1 && vs[0] == "" {
				return false
			} else if len(vs) == 1 {
				v = vs[0]
			}
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

// jsonKinds is a set of JSON value kinds.
type jsonKinds uint8

const (
	kindString jsonKinds = 1 << iota
	kindObject
	kindNull
)

// jsonObjectRule is a JSON body schema that is an object of plain fields:
// each a string or a free-form object (nullable or not), with unknown
// fields allowed or not and some fields required. Fields whose schema is
// anything else send a body that has them to kin-openapi.
type jsonObjectRule struct {
	fields     map[string]jsonKinds // 0: present means kin-openapi decides
	additional bool
	required   []string
}

// newJSONObjectRule returns the rule of s, or nil when s is not such a
// schema.
func newJSONObjectRule(s *openapi3.Schema) *jsonObjectRule {
	if s == nil || s.Type == nil || !slices.Equal(*s.Type, openapi3.Types{openapi3.TypeObject}) {
		return nil
	}
	ap := s.AdditionalProperties
	if ap.Schema != nil {
		return nil
	}
	plain := openapi3.Schema{Extensions: s.Extensions, Origin: s.Origin, Type: s.Type, Title: s.Title,
		Description: s.Description, Example: s.Example, Properties: s.Properties, AdditionalProperties: ap, Required: s.Required}
	if !reflect.DeepEqual(plain, *s) {
		return nil
	}
	rule := &jsonObjectRule{fields: map[string]jsonKinds{}, additional: ap.Has == nil || *ap.Has, required: s.Required}
	for name, ref := range s.Properties {
		if ref.Value == nil || ref.Value.Default != nil {
			// kin-openapi writes a field's default into the body when the
			// field is absent or null, and the handler reads that body.
			return nil
		}
		rule.fields[name] = fieldKinds(ref.Value)
	}
	return rule
}

// fieldKinds returns the kinds of value a plain field schema accepts, or
// 0 when it is not plain.
func fieldKinds(p *openapi3.Schema) jsonKinds {
	if p == nil || p.Type == nil || len(*p.Type) != 1 {
		return 0
	}
	plain := openapi3.Schema{Extensions: p.Extensions, Origin: p.Origin, Type: p.Type, Title: p.Title,
		Description: p.Description, Example: p.Example, Nullable: p.Nullable}
	var k jsonKinds
	switch (*p.Type)[0] {
	case openapi3.TypeString:
		k = kindString
	case openapi3.TypeObject:
		// Free-form: any members, whatever their values.
		if ap := p.AdditionalProperties; ap.Schema != nil || ap.Has != nil && !*ap.Has {
			return 0
		}
		plain.AdditionalProperties = p.AdditionalProperties
		k = kindObject
	default:
		return 0
	}
	if !reflect.DeepEqual(plain, *p) {
		return 0
	}
	if p.Nullable {
		k |= kindNull
	}
	return k
}

// accepts reports whether the schema accepts data, which must be free of
// duplicate keys (checkJSONValid said so). Anything but an object whose
// names are plain (their bytes are the names kin-openapi decodes) is
// refused, and so left to kin-openapi.
func (jr *jsonObjectRule) accepts(data []byte) bool {
	s := jsonscan.NewScanner(data)
	if !s.Open('{') {
		return false
	}
	seen := 0
	for first := true; s.More('}', first); first = false {
		key, ok := s.PlainKey()
		if !ok {
			return false
		}
		var kind jsonKinds
		switch s.Peek() {
		case '"':
			kind = kindString
		case '{':
			kind = kindObject
		case 'n':
			kind = kindNull
		}
		want, declared := jr.fields[string(key)]
		switch {
		case declared && want&kind == 0:
			return false // another kind, or a field kin-openapi checks
		case !declared && !jr.additional:
			return false
		}
		if declared && slices.Contains(jr.required, string(key)) {
			seen++
		}
		if !s.Skip(MaxJSONDepth) {
			return false
		}
	}
	return s.End() && seen == len(jr.required)
}
