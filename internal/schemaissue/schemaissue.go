// Package schemaissue turns JSON Schema validation errors into a list of
// issues, each naming the offending field by its JSON pointer; the fault
// rule loader and the conformance scenario loader report with it.
package schemaissue

import (
	"sort"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Issue is one problem of a validated document.
type Issue struct {
	// Field is the JSON pointer of the offending value ("/" for the root).
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// FromValidation keeps the leaf errors of a schema validation: they name the
// innermost offending field. Issues are sorted by field, duplicates dropped.
func FromValidation(ve *jsonschema.ValidationError) []Issue {
	var issues []Issue
	seen := map[Issue]bool{}
	var walk func(u jsonschema.OutputUnit)
	walk = func(u jsonschema.OutputUnit) {
		if u.Error != nil && len(u.Errors) == 0 {
			field := u.InstanceLocation
			if field == "" {
				field = "/"
			}
			is := Issue{Field: field, Reason: u.Error.String()}
			if !seen[is] {
				seen[is] = true
				issues = append(issues, is)
			}
		}
		for _, c := range u.Errors {
			walk(c)
		}
	}
	walk(*ve.DetailedOutput())
	sort.SliceStable(issues, func(i, j int) bool { return issues[i].Field < issues[j].Field })
	return issues
}
