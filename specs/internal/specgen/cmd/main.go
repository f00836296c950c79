// Command cmd writes specs/openapi_gen.go from the OpenAPI documents of
// specs/ (run by `go generate ./specs/`, from that directory).
package main

import (
	"fmt"
	"os"

	"github.com/knogin/argus-sandbox/specs/internal/specgen"
)

func main() {
	out, err := specgen.Generate("specs", "go generate ./specs/", docs())
	if err == nil {
		err = os.WriteFile(specgen.Output, out, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "specgen:", err)
		os.Exit(1)
	}
}

func docs() []specgen.Doc {
	var docs []specgen.Doc
	for _, d := range specgen.Documents {
		data, err := os.ReadFile(d.File)
		if err != nil {
			fmt.Fprintln(os.Stderr, "specgen:", err)
			os.Exit(1)
		}
		d.Data = data
		docs = append(docs, d)
	}
	return docs
}
