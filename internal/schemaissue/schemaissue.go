// Package schemaissue turns JSON Schema validation errors, and the numbers
// the validator cannot take, into a list of issues, each naming the
// offending field by its JSON pointer; the fault rule loader and the
// conformance scenario loader report with it.
package schemaissue

import (
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"

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

// Numbers finds the numbers of a decoded document (encoding/json numbers as
// jsonschema.UnmarshalJSON leaves them, or float64 from YAML) that do not fit
// a float64: infinities, NaN, and numbers too large or too close to zero.
// Run it before validating: the validator compares numbers as big.Rat,
// which refuses exponents beyond a million, and then panics; and no field
// of our documents needs such a number. Issues come in document order of
// sorted keys.
func Numbers(doc any) []Issue {
	var issues []Issue
	var walk func(v any, ptr string)
	walk = func(v any, ptr string) {
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(v[k], ptr+"/"+pointerEscaper.Replace(k))
			}
		case []any:
			for i, e := range v {
				walk(e, ptr+"/"+strconv.Itoa(i))
			}
		case json.Number:
			if !fitsFloat64(string(v)) {
				issues = append(issues, Issue{Field: ptr, Reason: "the number " + shorten(string(v)) + " is out of range: " + numberRange})
			}
		case float64:
			if math.IsInf(v, 0) || math.IsNaN(v) {
				issues = append(issues, Issue{Field: ptr, Reason: "the number " + strconv.FormatFloat(v, 'g', -1, 64) + " is out of range: " + numberRange})
			}
		}
	}
	walk(doc, "")
	return issues
}

const numberRange = "numbers must be 0 or between about 1e-308 and 1e308 in magnitude"

// pointerEscaper escapes a key for a JSON pointer (RFC 6901 §3).
var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// fitsFloat64 reports whether a JSON number neither overflows a float64 nor
// underflows to zero from a non-zero mantissa.
func fitsFloat64(n string) bool {
	f, err := strconv.ParseFloat(n, 64)
	if err != nil {
		return false
	}
	mantissa, _, _ := strings.Cut(strings.ToLower(n), "e")
	return f != 0 || !strings.ContainsAny(mantissa, "123456789")
}

// shorten keeps a refused number readable in a message.
func shorten(n string) string {
	if len(n) > 32 {
		return n[:29] + "..."
	}
	return n
}
