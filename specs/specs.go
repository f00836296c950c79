// Package specs embeds the published contract of the Argus platform: one
// OpenAPI 3.0 document per surface, the GraphQL schema (SDL) and the JSON
// Schemas of the sandbox's own files (fault rules, scenarios).
package specs

import (
	"embed"
	"io/fs"
)

//go:embed *.yaml *.graphql *.json
var embedded embed.FS

// Default returns the embedded spec files.
func Default() fs.FS { return embedded }
