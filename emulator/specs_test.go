package emulator

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/specs"
)

// TestEmbeddedSpecsAreValid validates the embedded specs (examples
// included) at build time, which is why start-up only parses them.
func TestEmbeddedSpecsAreValid(t *testing.T) {
	for _, name := range specFiles {
		t.Run(name, func(t *testing.T) {
			data, err := fs.ReadFile(specs.Default(), name+".yaml")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := core.LoadSpec(name+".yaml", data); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestLoadSpecsValidatesOverrides(t *testing.T) {
	override := fstest.MapFS{}
	for _, name := range specFiles {
		data, err := fs.ReadFile(specs.Default(), name+".yaml")
		if err != nil {
			t.Fatal(err)
		}
		override[name+".yaml"] = &fstest.MapFile{Data: data}
	}
	// A schema example that does not match its schema parses, but is not a
	// valid document.
	bad := strings.Replace(string(override["oauth.yaml"].Data), "\n  schemas:\n", "\n  schemas:\n    Broken:\n      type: integer\n      example: not a number\n", 1)
	tests := []struct {
		name     string
		file     string
		data     string
		validate bool
		wantErr  string
	}{
		{"valid override", "", "", true, ""},
		{"invalid example refused when validating", "oauth.yaml", bad, true, "spec oauth.yaml"},
		{"invalid example parses without validation", "oauth.yaml", bad, false, ""},
		{"unparsable file names the file", "webhooks.yaml", "openapi: [", true, "spec webhooks.yaml"},
		{"missing file names the file", "graphql.yaml", "", true, "spec graphql.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for k, v := range override {
				fsys[k] = v
			}
			if tt.file != "" {
				fsys[tt.file] = &fstest.MapFile{Data: []byte(tt.data)}
				if tt.data == "" {
					delete(fsys, tt.file)
				}
			}
			docs, err := loadSpecs(fsys, tt.validate)
			if tt.wantErr == "" {
				if err != nil || len(docs) != len(specFiles) {
					t.Fatalf("loadSpecs = %d docs, %v", len(docs), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to name %q", err, tt.wantErr)
			}
		})
	}
}
