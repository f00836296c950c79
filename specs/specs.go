// Package specs embeds the published contract of the Argus platform: one
// OpenAPI 3.0 document per surface, the GraphQL schema (SDL) and the JSON
// Schemas of the sandbox's own files (fault rules, scenarios).
//
// The YAML documents are the source of truth. openapi_gen.go holds them
// compiled into Go, so that the sandbox starts without parsing YAML;
// regenerate it with `go generate ./specs/` after editing a document
// (TestCompiledDocsMatchYAML fails until then).
package specs

import (
	"embed"
	"io/fs"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:embed *.yaml *.graphql *.json
var embedded embed.FS

// Default returns the embedded spec files.
func Default() fs.FS { return embedded }

// Load parses and validates one embedded OpenAPI document by file name
// (for example "platform.yaml"); surface tests mount their API with it.
func Load(name string) (*openapi3.T, error) {
	doc, err := Parse(name)
	if err != nil {
		return nil, err
	}
	if err := ValidateSpec(name, doc); err != nil {
		return nil, err
	}
	return doc, nil
}
