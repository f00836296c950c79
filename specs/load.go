package specs

import (
	"context"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// LoadSpec parses and validates one OpenAPI 3.0 document (an embedded one
// or an override given with --specs). External $refs are
// never followed: every spec is self-contained. name appears in errors so a
// bad override file is easy to find.
func LoadSpec(name string, data []byte) (*openapi3.T, error) {
	doc, err := ParseSpec(name, data)
	if err != nil {
		return nil, err
	}
	if err := ValidateSpec(name, doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// ParseSpec parses one OpenAPI 3.0 document and resolves its local $refs
// without validating it: for documents already validated elsewhere (the
// embedded specs are validated by a test), since validation with examples
// is a noticeable share of start-up.
func ParseSpec(name string, data []byte) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(data)
	if err != nil {
		return nil, fmt.Errorf("spec %s: %w", name, err)
	}
	return doc, nil
}

// ValidateSpec validates a parsed document against OpenAPI 3.0, examples
// included.
func ValidateSpec(name string, doc *openapi3.T) error {
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		return fmt.Errorf("spec %s: %w", name, err)
	}
	return nil
}
