package faults

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/knogin/argus-sandbox/internal/schemaissue"
	"gopkg.in/yaml.v3"

	"github.com/knogin/argus-sandbox/specs"
)

// SchemaFile is the JSON Schema of the fault-rule file inside specs/.
const SchemaFile = "faults.schema.json"

// Issue is one problem of a rule, naming the field by JSON pointer.
type Issue = schemaissue.Issue

// ValidationError lists every problem found in a rule file or a rule.
type ValidationError struct {
	// Source names the file ("" for a rule posted to the control plane).
	Source string
	Issues []Issue
}

// Error lists every issue as "source: /field: reason".
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		parts[i] = is.Field + ": " + is.Reason
	}
	msg := "invalid fault rules: " + strings.Join(parts, "; ")
	if e.Source != "" {
		msg = e.Source + ": " + msg
	}
	return msg
}

type schemas struct {
	file, rule *jsonschema.Schema
}

// compiled holds the file and single-rule schemas, compiled once.
var compiled = sync.OnceValues(func() (schemas, error) {
	raw, err := fs.ReadFile(specs.Default(), SchemaFile)
	if err != nil {
		return schemas{}, err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return schemas{}, fmt.Errorf("%s: %w", SchemaFile, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaFile, doc); err != nil {
		return schemas{}, err
	}
	var s schemas
	if s.file, err = c.Compile(SchemaFile); err != nil {
		return schemas{}, err
	}
	if s.rule, err = c.Compile(SchemaFile + "#/$defs/rule"); err != nil {
		return schemas{}, err
	}
	return s, nil
})

// ParseFile reads a --faults file (YAML or JSON), validates it against
// specs/faults.schema.json and the rules' semantics, and returns its rules.
// Errors are a *ValidationError naming the file and every bad field.
func ParseFile(name string, data []byte) ([]Rule, error) {
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &ValidationError{Source: name, Issues: []Issue{{Field: "/", Reason: err.Error()}}}
	}
	doc, err := normalize(doc)
	if err != nil {
		return nil, &ValidationError{Source: name, Issues: []Issue{{Field: "/", Reason: err.Error()}}}
	}
	s, err := compiled()
	if err != nil {
		return nil, err
	}
	var file struct {
		Rules []Rule `json:"rules"`
	}
	if err := decode(s.file, doc, &file); err != nil {
		err.Source = name
		return nil, err
	}
	issues := checkRules(file.Rules, checkRule)
	if len(issues) > 0 {
		return nil, &ValidationError{Source: name, Issues: issues}
	}
	return file.Rules, nil
}

// DecodeRule reads one rule in JSON (the body of POST /_sandbox/faults) and
// validates it like a rule of the file. Field pointers are relative to the
// rule.
func DecodeRule(data []byte) (Rule, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return Rule{}, &ValidationError{Issues: []Issue{{Field: "/", Reason: "malformed JSON: " + err.Error()}}}
	}
	s, err := compiled()
	if err != nil {
		return Rule{}, err
	}
	var r Rule
	if verr := decode(s.rule, doc, &r); verr != nil {
		return Rule{}, verr
	}
	if issues := checkRule(r); len(issues) > 0 {
		return Rule{}, &ValidationError{Issues: issues}
	}
	return r, nil
}

// decode validates doc against sch, then decodes it into out.
func decode(sch *jsonschema.Schema, doc any, out any) *ValidationError {
	if issues := schemaissue.Numbers(doc); len(issues) > 0 {
		return &ValidationError{Issues: issues}
	}
	if err := sch.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return &ValidationError{Issues: []Issue{{Field: "/", Reason: err.Error()}}}
		}
		return &ValidationError{Issues: schemaissue.FromValidation(ve)}
	}
	if issues := durationIssues(doc, "", false); len(issues) > 0 {
		sort.Slice(issues, func(i, j int) bool { return issues[i].Field < issues[j].Field })
		return &ValidationError{Issues: issues}
	}
	raw, err := json.Marshal(plainIntegers(doc))
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		err = dec.Decode(out)
	}
	if err != nil {
		return &ValidationError{Issues: []Issue{{Field: "/", Reason: err.Error()}}}
	}
	return nil
}

// plainIntegers rewrites JSON numbers that hold an integer but are written
// with a fraction or an exponent ("2.0", "1e2") as plain integers: JSON
// Schema counts them as integers, and encoding/json would refuse them for
// an int field. It runs after validation, so every integer field is within
// its schema bounds; strconv, unlike big.Rat, stays cheap on any exponent.
func plainIntegers(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = plainIntegers(e)
		}
	case []any:
		for i, e := range v {
			v[i] = plainIntegers(e)
		}
	case json.Number:
		const exact = 1 << 53 // float64 holds every integer up to here
		if f, err := strconv.ParseFloat(string(v), 64); err == nil && f == math.Trunc(f) && math.Abs(f) <= exact {
			return json.Number(strconv.FormatInt(int64(f), 10))
		}
	}
	return v
}

// normalize turns YAML values into the JSON data model the schema
// validator expects; YAML timestamps become RFC 3339 strings.
func normalize(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			v[k] = n
		}
		return v, nil
	case []any:
		for i, e := range v {
			n, err := normalize(e)
			if err != nil {
				return nil, err
			}
			v[i] = n
		}
		return v, nil
	case time.Time:
		return v.Format(time.RFC3339Nano), nil
	case map[any]any:
		return nil, errors.New("mapping keys must be strings")
	}
	return v, nil
}

// checkRules checks each rule with check and that names are unique,
// naming fields from the file's root.
func checkRules(rules []Rule, check func(Rule) []Issue) []Issue {
	var issues []Issue
	seen := map[string]int{}
	for i, r := range rules {
		prefix := fmt.Sprintf("/rules/%d", i)
		if j, dup := seen[r.Name]; dup {
			issues = append(issues, Issue{Field: prefix + "/name", Reason: fmt.Sprintf("duplicates the name of /rules/%d", j)})
		}
		seen[r.Name] = i
		issues = append(issues, prefixed(prefix, check(r))...)
	}
	return issues
}

func prefixed(prefix string, issues []Issue) []Issue {
	for i := range issues {
		issues[i].Field = prefix + issues[i].Field
	}
	return issues
}
