package specs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"

	"github.com/getkin/kin-openapi/openapi3"
)

//go:generate go run ./internal/specgen/cmd

// compiledDoc is one OpenAPI document compiled into Go (openapi_gen.go): the
// sandbox builds it instead of parsing the YAML, which was most of its
// start-up time.
type compiledDoc struct {
	// digest is the SHA-256 of the YAML source it was generated from.
	digest string
	// build returns the document as the loader parses it, before its
	// $refs are resolved.
	build func() *openapi3.T
}

// Parse returns the embedded OpenAPI document name ("platform.yaml"),
// parsed with its local $refs resolved but not validated (the embedded
// documents are validated by the tests). It builds the document from its
// compiled form when that was generated from the embedded file; otherwise
// (a YAML file edited without `go generate ./specs/`) it parses the YAML,
// so a stale compiled form is never used.
func Parse(name string) (*openapi3.T, error) { return parse(embedded, name) }

// parse reads name from fsys and builds it from its compiled form when the
// digests agree, else parses it.
func parse(fsys fs.FS, name string) (*openapi3.T, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("spec %s: %w", name, err)
	}
	c, ok := compiledDocs[name]
	if !ok || c.digest != digest(data) {
		return ParseSpec(name, data)
	}
	doc := c.build()
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	if err := loader.ResolveRefsIn(doc, nil); err != nil {
		return nil, fmt.Errorf("spec %s: %w", name, err)
	}
	return doc, nil
}

// digest is the SHA-256 of a document, in hex (specgen.Digest).
func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
