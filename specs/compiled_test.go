package specs

import (
	"bytes"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/knogin/argus-sandbox/specs/internal/specgen"
)

const regenerate = "run `go generate ./specs/` and commit openapi_gen.go"

// TestCompiledDocsMatchYAML fails when openapi_gen.go is not what the
// generator makes of the current YAML documents, and proves that each
// compiled document is the very document the loader parses from its YAML.
func TestCompiledDocsMatchYAML(t *testing.T) {
	var docs []specgen.Doc
	for _, d := range specgen.Documents {
		data, err := fs.ReadFile(embedded, d.File)
		if err != nil {
			t.Fatal(err)
		}
		if c, ok := compiledDocs[d.File]; !ok || c.digest != specgen.Digest(data) {
			t.Errorf("%s changed since openapi_gen.go was generated: %s", d.File, regenerate)
		}
		if digest(data) != specgen.Digest(data) {
			t.Fatalf("digest and specgen.Digest disagree")
		}
		d.Data = data
		docs = append(docs, d)
	}
	want, err := specgen.Generate("specs", "go generate ./specs/", docs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(specgen.Output)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what the generator makes of the YAML documents: %s", specgen.Output, regenerate)
	}
	for _, d := range docs {
		t.Run(d.File, func(t *testing.T) {
			parsed, err := ParseSpec(d.File, d.Data)
			if err != nil {
				t.Fatal(err)
			}
			compiled, err := Parse(d.File)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(compiled, parsed) {
				t.Errorf("the compiled document differs from the one parsed from %s", d.File)
			}
		})
	}
}

// TestParseNeverServesStaleCode: a document whose YAML no longer matches its
// compiled form is parsed from the YAML.
func TestParseNeverServesStaleCode(t *testing.T) {
	data, err := fs.ReadFile(embedded, "oauth.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := parse(embedded, "oauth.yaml")
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(data), "\ninfo:\n  title: ", "\ninfo:\n  title: Edited ", 1)
	if edited == string(data) {
		t.Fatal("oauth.yaml has no info.title line to edit")
	}
	doc, err := parse(fstest.MapFS{"oauth.yaml": {Data: []byte(edited)}}, "oauth.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Edited " + fresh.Info.Title; doc.Info.Title != want {
		t.Errorf("title = %q, want %q (the edited YAML)", doc.Info.Title, want)
	}
	if _, err := parse(fstest.MapFS{"oauth.yaml": {Data: []byte("openapi: [")}}, "oauth.yaml"); err == nil || !strings.Contains(err.Error(), "spec oauth.yaml") {
		t.Errorf("unparsable edit: err = %v, want it to name the file", err)
	}
}

// BenchmarkParse builds and resolves the five documents from their compiled
// form (what the sandbox does at start); BenchmarkParseYAML parses them.
func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		for _, d := range specgen.Documents {
			if _, err := Parse(d.File); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkParseYAML(b *testing.B) {
	for b.Loop() {
		for _, d := range specgen.Documents {
			data, err := fs.ReadFile(embedded, d.File)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := ParseSpec(d.File, data); err != nil {
				b.Fatal(err)
			}
		}
	}
}
