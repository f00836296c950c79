// Package scenarios embeds the default conformance suite: one YAML file per
// scenario, in the format of specs/scenario.schema.json.
package scenarios

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml
var embedded embed.FS

// Default returns the embedded scenario files.
func Default() fs.FS { return embedded }
