package schemaissue

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

func TestFromValidationNamesLeafFields(t *testing.T) {
	schema := `{"type":"object","additionalProperties":false,"required":["name"],
		"properties":{"name":{"type":"string"},"when":{"type":"object","properties":{"first":{"type":"integer","minimum":1}}}}}`
	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(schema))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("s.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("s.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"when":{"first":0},"colour":"red"}`))
	var ve *jsonschema.ValidationError
	if err := sch.Validate(inst); !errors.As(err, &ve) {
		t.Fatalf("want a validation error, got %v", err)
	}
	var fields []string
	for _, is := range FromValidation(ve) {
		fields = append(fields, is.Field)
		if is.Reason == "" {
			t.Errorf("issue %s has no reason", is.Field)
		}
	}
	if diff := cmp.Diff([]string{"/", "/", "/when/first"}, fields); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
}

func TestNumbersNamesUnusableNumbers(t *testing.T) {
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(`{"when":{"probability":1e-9999999,"after":1e400,"first":3},
		"a/b":[0.5,1e9999999,0e9999999,-1e-400],"ok":[1e23,-2.5e-300,0,"1e999999"]}`))
	if err != nil {
		t.Fatal(err)
	}
	yamlish := map[string]any{"inf": math.Inf(1), "nan": math.NaN(), "fine": 1e300, "int": uint64(1) << 63}
	tests := []struct {
		name string
		doc  any
		want []string
	}{
		{"JSON numbers", doc, []string{"/a~1b/1", "/a~1b/3", "/when/after", "/when/probability"}},
		{"YAML floats", yamlish, []string{"/inf", "/nan"}},
		{"nothing to refuse", map[string]any{"n": json.Number("12"), "s": []any{"x", 1.5, true, nil}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fields []string
			for _, is := range Numbers(tt.doc) {
				fields = append(fields, is.Field)
				if !strings.Contains(is.Reason, "out of range") {
					t.Errorf("%s: reason %q", is.Field, is.Reason)
				}
			}
			if diff := cmp.Diff(tt.want, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}
