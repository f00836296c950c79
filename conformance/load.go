package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"gopkg.in/yaml.v3"

	"github.com/knogin/argus-sandbox/internal/schemaissue"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/specs"
)

// SchemaFile is the JSON Schema of a scenario file inside specs/.
const SchemaFile = "scenario.schema.json"

// Issue is one problem of a scenario file, naming the field by JSON
// pointer.
type Issue = schemaissue.Issue

// ValidationError lists every problem of one scenario file.
type ValidationError struct {
	File   string
	Issues []Issue
}

// Error lists every issue as "file: /field: reason".
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		parts[i] = is.Field + ": " + is.Reason
	}
	return e.File + ": invalid scenario: " + strings.Join(parts, "; ")
}

// faultsSchemaFile is the fault-rule schema inside specs/, which the
// scenario schema refers to.
const faultsSchemaFile = "faults.schema.json"

// scenarioSchema is compiled once; it refers to the fault-rule schema.
var scenarioSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	for _, name := range []string{SchemaFile, faultsSchemaFile} {
		raw, err := fs.ReadFile(specs.Default(), name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := c.AddResource("https://argus.sandbox/schemas/"+name, doc); err != nil {
			return nil, err
		}
	}
	return c.Compile("https://argus.sandbox/schemas/" + SchemaFile)
})

// Load reads every *.yaml, *.yml and *.json file at the root of fsys as a
// scenario, validated against specs/scenario.schema.json and checked for
// consistency. Every bad file is reported, each naming its fields.
func Load(fsys fs.FS) ([]*Scenario, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	var out []*Scenario
	var errs []error
	names := map[string]string{}
	for _, e := range entries {
		ext := path.Ext(e.Name())
		if e.IsDir() || ext != ".yaml" && ext != ".yml" && ext != ".json" {
			continue
		}
		data, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s, err := ParseScenario(e.Name(), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := names[s.Name]; dup {
			errs = append(errs, &ValidationError{File: e.Name(), Issues: []Issue{{Field: "/name", Reason: fmt.Sprintf("%q is also the name of %s", s.Name, prev)}}})
			continue
		}
		names[s.Name] = e.Name()
		out = append(out, s)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(out) == 0 {
		return nil, errors.New("scenarios: no scenario files (*.yaml, *.yml, *.json)")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ParseScenario decodes and validates one scenario file.
func ParseScenario(file string, data []byte) (*Scenario, error) {
	fail := func(field, reason string) error {
		return &ValidationError{File: file, Issues: []Issue{{Field: field, Reason: reason}}}
	}
	var doc any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fail("/", err.Error())
	}
	if issues := schemaissue.Numbers(doc); len(issues) > 0 {
		return nil, &ValidationError{File: file, Issues: issues}
	}
	// A JSON round trip turns YAML values into the JSON data model.
	raw, err := json.Marshal(doc)
	if err != nil {
		return nil, fail("/", err.Error())
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fail("/", err.Error())
	}
	sch, err := scenarioSchema()
	if err != nil {
		return nil, err
	}
	if err := sch.Validate(inst); err != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(err, &ve) {
			return nil, fail("/", err.Error())
		}
		return nil, &ValidationError{File: file, Issues: schemaissue.FromValidation(ve)}
	}
	// What the schema cannot bound would fail to decode, naming no field.
	if issues := append(durationIssues(inst), faultIssues(inst)...); len(issues) > 0 {
		return nil, &ValidationError{File: file, Issues: issues}
	}
	var s Scenario
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fail("/", err.Error())
	}
	s.File = file
	if s.Category == "" {
		s.Category = CategoryOther
	}
	if issues := s.check(file); len(issues) > 0 {
		return nil, &ValidationError{File: file, Issues: issues}
	}
	return &s, nil
}

// MaxDuration bounds a step's advance and an expected answer's within: far
// beyond any retry schedule, and well inside time.Duration and the range of
// the sandbox clock.
const MaxDuration = 10000 * time.Hour

// durationIssues finds the durations of a validated scenario (advance,
// within) that are longer than MaxDuration, including those beyond
// time.Duration's range, which the schema's pattern lets through.
func durationIssues(inst any) []Issue {
	var issues []Issue
	check := func(field string, v any) {
		s, ok := v.(string)
		if !ok {
			return
		}
		if d, err := time.ParseDuration(s); err != nil || d > MaxDuration {
			issues = append(issues, Issue{Field: field, Reason: fmt.Sprintf("%q is too long: durations are at most %s", s, MaxDuration)})
		}
	}
	checkExpect := func(at string, e any) {
		m, _ := e.(map[string]any)
		responses, _ := m["responses"].([]any)
		for i, r := range responses {
			if within, ok := r.(map[string]any)["within"]; ok {
				check(fmt.Sprintf("%s/responses/%d/within", at, i), within)
			}
		}
	}
	root, _ := inst.(map[string]any)
	steps, _ := root["steps"].([]any)
	for i, st := range steps {
		m, _ := st.(map[string]any)
		if d, ok := m["advance"]; ok {
			check(fmt.Sprintf("/steps/%d/advance", i), d)
		}
		if e, ok := m["expect"]; ok {
			checkExpect(fmt.Sprintf("/steps/%d/expect", i), e)
		}
	}
	checkExpect("/expect", root["expect"])
	return issues
}

// faultIssues validates each fault rule of a scenario as the control plane
// would (durations out of range, counts, windows), naming fields from the
// scenario's root.
func faultIssues(inst any) []Issue {
	var issues []Issue
	root, _ := inst.(map[string]any)
	rules, _ := root["faults"].([]any)
	for i, r := range rules {
		raw, err := json.Marshal(r)
		if err != nil {
			issues = append(issues, Issue{Field: fmt.Sprintf("/faults/%d", i), Reason: err.Error()})
			continue
		}
		for _, is := range emulator.CheckFaultRule(raw) {
			issues = append(issues, Issue{Field: fmt.Sprintf("/faults/%d%s", i, strings.TrimSuffix(is.Field, "/")), Reason: is.Reason})
		}
	}
	return issues
}

// catalogTopics is the set of topics of the embedded event catalog, which
// the sandbox publishes from.
var catalogTopics = sync.OnceValue(func() map[string]bool {
	out := map[string]bool{}
	for _, et := range fixtures.MustDefault().EventTypes {
		out[et.Type] = true
	}
	return out
})

// check finds what the schema cannot: names against the file, labels used
// before they are published, fault-rule semantics.
func (s *Scenario) check(file string) []Issue {
	var issues []Issue
	if base := strings.TrimSuffix(path.Base(file), path.Ext(file)); base != s.Name {
		issues = append(issues, Issue{Field: "/name", Reason: fmt.Sprintf("%q must match the file name %q", s.Name, base)})
	}
	for i, r := range s.Faults {
		if _, target := r.Action.Kind(); target != client.FaultTargetDelivery && !slices.Contains(s.Requires, RequireCallback) {
			issues = append(issues, Issue{Field: fmt.Sprintf("/faults/%d", i), Reason: "a rule on the consumer's calls into the sandbox needs `requires: [callback]`"})
		}
	}
	known, knownCases := map[string]bool{}, map[string]bool{}
	checkCases := func(at string, refs []string) {
		for _, c := range refs {
			if !isCaseID(c) && !knownCases[c] {
				issues = append(issues, Issue{Field: at + "/" + c, Reason: fmt.Sprintf("no event is published for case %q before this point (a label, or a fixture case id case_...)", c)})
			}
		}
	}
	checkExpect := func(at string, e *Expect) {
		checkCases(at+"/cases", slices.Sorted(maps.Keys(e.Cases)))
		checkCases(at+"/notes", slices.Sorted(maps.Keys(e.Notes)))
		for i, r := range e.Responses {
			if !known[r.Event] {
				issues = append(issues, Issue{Field: fmt.Sprintf("%s/responses/%d/event", at, i), Reason: fmt.Sprintf("no event is published as %q before this point", r.Event)})
			}
		}
		for _, l := range slices.Sorted(maps.Keys(e.Applied)) {
			if !known[l] {
				issues = append(issues, Issue{Field: at + "/applied/" + l, Reason: fmt.Sprintf("no event is published as %q before this point", l)})
			}
		}
	}
	for i, st := range s.Steps {
		at := fmt.Sprintf("/steps/%d", i)
		switch {
		case st.Publish != nil:
			known[st.Publish.As] = true
			if st.Publish.Case != "" {
				knownCases[st.Publish.Case] = true
			}
			if !catalogTopics()[st.Publish.Topic] {
				issues = append(issues, Issue{Field: at + "/publish/topic", Reason: fmt.Sprintf("%q is not a topic of the event catalog", st.Publish.Topic)})
			}
			if a := st.Publish.AwaitFault; a != "" && !slices.ContainsFunc(s.Faults, func(r client.FaultRule) bool { return r.Name == a }) {
				issues = append(issues, Issue{Field: at + "/publish/await_fault", Reason: fmt.Sprintf("the scenario has no fault rule named %q", a)})
			}
		case st.Redeliver != "":
			if !known[st.Redeliver] {
				issues = append(issues, Issue{Field: at + "/redeliver", Reason: fmt.Sprintf("no event is published as %q before this step", st.Redeliver)})
			}
		case st.Restart != nil:
			if !slices.Contains(s.Requires, RequireRestart) {
				issues = append(issues, Issue{Field: at + "/restart", Reason: "a restart step needs `requires: [restart]`"})
			}
		case st.RotateSecret != nil:
			if !slices.Contains(s.Requires, RequireRestart) {
				issues = append(issues, Issue{Field: at + "/rotate_secret", Reason: "a rotate_secret step restarts the consumer: it needs `requires: [restart]`"})
			}
		case st.Expect != nil:
			checkExpect(at+"/expect", st.Expect)
		}
	}
	checkExpect("/expect", &s.Expect)
	return issues
}
