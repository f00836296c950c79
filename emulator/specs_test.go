package emulator

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/knogin/argus-sandbox/fixtures"
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
			if _, err := specs.LoadSpec(name+".yaml", data); err != nil {
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
		name    string
		file    string
		data    string
		wantErr string
	}{
		{"valid override", "", "", ""},
		{"invalid example refused", "oauth.yaml", bad, "spec oauth.yaml"},
		{"unparsable file names the file", "webhooks.yaml", "openapi: [", "spec webhooks.yaml"},
		{"missing file names the file", "graphql.yaml", "", "spec graphql.yaml"},
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
			docs, err := loadSpecs(fsys)
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

// copyFS copies every file of fsys into a MapFS the test may edit.
func copyFS(t *testing.T, fsys fs.FS) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, path)
		out[path] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNewReportsSpecAndFixtureProblems: the specs load while the fixtures
// load and the first surfaces are built; whatever fails, New reports the
// bad spec, the bad fixtures or both, and --specs overrides still have to
// match the routes.
func TestNewReportsSpecAndFixtureProblems(t *testing.T) {
	badSpecs := copyFS(t, specs.Default())
	badSpecs["webhooks.yaml"] = &fstest.MapFile{Data: []byte("openapi: [")}
	badFixtures := copyFS(t, fixtures.Default())
	badFixtures["tenants.yaml"] = &fstest.MapFile{Data: []byte("tenants: [")}
	unrouted := copyFS(t, specs.Default())
	unrouted["platform.yaml"] = &fstest.MapFile{Data: []byte(strings.Replace(string(unrouted["platform.yaml"].Data), "operationId: listApps", "operationId: listAppsRenamed", 1))}
	tests := []struct {
		name     string
		specs    fs.FS
		fixtures fs.FS
		want     []string
	}{
		{"bad spec", badSpecs, nil, []string{"spec webhooks.yaml"}},
		{"bad fixtures", nil, badFixtures, []string{"tenants.yaml"}},
		{"both", badSpecs, badFixtures, []string{"spec webhooks.yaml", "tenants.yaml"}},
		{"routes and handlers differ", unrouted, nil, []string{"routes do not match the specs", "listAppsRenamed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, err := New(Config{Issuer: "http://127.0.0.1:1", Loopback: true, Specs: tt.specs, Fixtures: tt.fixtures})
			if err == nil {
				sb.Close()
				t.Fatal("New succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}
