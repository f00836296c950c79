package schemaissue

import (
	"errors"
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
