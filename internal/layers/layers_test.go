package layers

import (
	"errors"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/knogin/argus-sandbox"

// surfaces are the emulator's API surfaces: each imports the shared layer
// below it and never another surface (control → faults and control →
// tenants are the exceptions: the control plane is the HTTP face of the
// fault engine and of the tenant registry).
var surfaces = []string{
	"emulator/platform", "emulator/oauth", "emulator/webhooks",
	"emulator/graphql", "emulator/faults", "emulator/control", "emulator/journal",
	"emulator/tenants",
}

// shared is what every surface may import.
var shared = []string{"emulator/core", "fixtures", "specs", "internal/schemaissue"}

// rule says what one package (relative to the module) may import of the
// module. files narrows extra imports to some of its files: a command may
// import a surface in flags.go, for the surface's flag values, and nowhere
// else.
type rule struct {
	allow []string
	files map[string][]string // import → files allowed to import it
	// internalLeaves lets the package also import the internal leaves:
	// packages under internal/ whose rule allows nothing of the module.
	internalLeaves bool
}

// rules is the layer map. A package missing from it fails the test, so a
// new package is placed in the layers on purpose.
func rules() map[string]rule {
	r := map[string]rule{
		// Core imports nothing of the module except internal leaves
		// (the JSON scanner), which import nothing of it either.
		"emulator/core": {internalLeaves: true},

		// Leaves: nothing of the module.
		"specs":                 {},
		"scenarios":             {},
		"client":                {},
		"internal/golit":        {},
		"internal/schemaissue":  {},
		"internal/loadbench":    {},
		"internal/layers":       {},
		"internal/racetest":     {},
		"internal/pgtest":       {},
		"internal/jsonscan":     {},
		"internal/jsonwrite":    {},
		"internal/locale":       {},
		"internal/cputime":      {},
		"internal/snapshottest": {},
		// The shared-sandbox isolation sequence drives a sandbox through
		// the client, in process and in the container alike.
		"internal/tenantcheck": {allow: []string{"client"}},
		"examples/consumer":    {},

		// Fixtures check their locales against the supported ones.
		"fixtures": {allow: []string{"internal/locale"}},

		// Generators run by go generate.
		"specs/internal/specgen":           {allow: []string{"internal/golit"}},
		"specs/internal/specgen/cmd":       {allow: []string{"specs/internal/specgen"}},
		"fixtures/internal/fixturegen":     {allow: []string{"internal/golit"}},
		"fixtures/internal/fixturegen/cmd": {allow: []string{"fixtures", "fixtures/internal/fixturegen"}},

		// The Idempotency-Key layer is router middleware: core only.
		"emulator/idempotency": {allow: []string{"emulator/core"}},
		// Its store conformance suite tests the layer's Store.
		"emulator/idempotency/storetest": {allow: []string{"emulator/idempotency", "internal/racetest"}},

		// The wiring connects every surface and the middleware, and mounts
		// the console.
		"emulator": {allow: append(append(slices.Clone(surfaces), shared...), "emulator/idempotency", "emulator/console", "emulator/sqlstore")},

		// The durable stores implement the Store interfaces of the surfaces
		// that keep state; the wiring picks them.
		"emulator/sqlstore": {allow: []string{"emulator/core", "emulator/platform", "emulator/oauth", "emulator/graphql", "emulator/webhooks", "emulator/tenants", "emulator/faults", "emulator/idempotency", "emulator/journal", "fixtures"}},

		// The console acts through the sandbox's own API with the client,
		// like any other user of it: it reaches no surface.
		"emulator/console": {allow: []string{"client"}},

		// Users of the emulator drive it through the client; they reach no
		// surface.
		"conformance": {allow: []string{"emulator", "client", "fixtures", "scenarios", "specs", "internal/schemaissue"}},
		"sandboxtest": {allow: []string{"emulator", "client", "conformance", "fixtures"}},

		"cmd/sandbox": {
			allow: []string{"emulator", "client"},
			files: map[string][]string{
				"emulator/control":  {"flags.go"},
				"emulator/faults":   {"flags.go"},
				"emulator/oauth":    {"flags.go"},
				"emulator/webhooks": {"flags.go"},
			},
		},
		"cmd/conformance":                {allow: []string{"conformance", "client"}},
		"cmd/loadbench":                  {allow: []string{"internal/loadbench"}},
		"examples/consumer/cmd/consumer": {allow: []string{"examples/consumer"}},
	}
	for _, s := range surfaces {
		allow := slices.Clone(shared)
		switch s {
		case "emulator/control":
			allow = append(allow, "emulator/faults", "emulator/tenants")
		case "emulator/graphql":
			allow = append(allow, "internal/jsonscan", "internal/jsonwrite") // its request scanner, its result writer
		case "emulator/journal":
			allow = append(allow, "internal/jsonwrite") // the entries' encoder
		}
		r[s] = rule{allow: allow}
		// A surface's store conformance suite tests that surface's Store.
		r[s+"/storetest"] = rule{allow: []string{s, "emulator/core", "fixtures", "internal/racetest", "internal/snapshottest"}}
	}
	return r
}

// pkgImports maps each package of the module (relative path) to its
// module-internal imports, each with the non-test files that import it.
type pkgImports map[string]map[string][]string

// check returns every import the rules do not allow, sorted.
func check(graph pkgImports, rules map[string]rule) []string {
	var bad []string
	for pkg, imports := range graph {
		r, ok := rules[pkg]
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: no layer rule for this package (add it to internal/layers)", pkg))
			continue
		}
		for imp, files := range imports {
			if slices.Contains(r.allow, imp) || r.internalLeaves && internalLeaf(rules, imp) {
				continue
			}
			if okFiles, ok := r.files[imp]; ok {
				var outside []string
				for _, f := range files {
					if !slices.Contains(okFiles, f) {
						outside = append(outside, f)
					}
				}
				if len(outside) == 0 {
					continue
				}
				files = outside
			}
			bad = append(bad, fmt.Sprintf("%s imports %s (in %s)", pkg, imp, strings.Join(files, ", ")))
		}
	}
	sort.Strings(bad)
	return bad
}

// internalLeaf reports whether pkg is under internal/ and its rule allows
// it nothing of the module.
func internalLeaf(rules map[string]rule, pkg string) bool {
	r, ok := rules[pkg]
	return ok && strings.HasPrefix(pkg, "internal/") && len(r.allow) == 0 && len(r.files) == 0 && !r.internalLeaves
}

// moduleGraph reads the import graph of the module's non-test files, as
// the go tool would build them (build constraints apply). Nested modules
// (a directory with its own go.mod) are outside this module's layers.
func moduleGraph(t *testing.T, root string) pkgImports {
	t.Helper()
	graph := pkgImports{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "vendor") {
			return filepath.SkipDir
		}
		if path != root {
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		p, err := build.Default.ImportDir(path, 0)
		if err != nil {
			var none *build.NoGoError
			if errors.As(err, &none) {
				return nil
			}
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		imports := map[string][]string{}
		for imp, positions := range p.ImportPos {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(imp, module+"/")
			for _, pos := range positions {
				if f := filepath.Base(pos.Filename); !slices.Contains(imports[dep], f) {
					imports[dep] = append(imports[dep], f)
				}
			}
		}
		graph[rel] = imports
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return graph
}

func TestLayers(t *testing.T) {
	graph := moduleGraph(t, filepath.Join("..", ".."))
	if len(graph) < 20 {
		t.Fatalf("read only %d packages; is the module root right?", len(graph))
	}
	for _, v := range check(graph, rules()) {
		t.Error(v)
	}
}

// TestCheckCatchesBrokenLayers breaks each rule once and expects exactly
// that break to be reported.
func TestCheckCatchesBrokenLayers(t *testing.T) {
	tests := []struct {
		name string
		pkg  string
		imp  string
		file string
		want string
	}{
		{"core imports the module", "emulator/core", "fixtures", "clock.go", "emulator/core imports fixtures (in clock.go)"},
		{"core imports an internal package with no rule", "emulator/core", "internal/newthing", "clock.go", "emulator/core imports internal/newthing (in clock.go)"},
		{"the JSON scanner imports the module", "internal/jsonscan", "emulator/core", "scanner.go", "internal/jsonscan imports emulator/core (in scanner.go)"},
		{"a surface other than graphql uses the JSON scanner", "emulator/webhooks", "internal/jsonscan", "deliver.go", "emulator/webhooks imports internal/jsonscan (in deliver.go)"},
		{"surface imports surface", "emulator/webhooks", "emulator/faults", "deliver.go", "emulator/webhooks imports emulator/faults (in deliver.go)"},
		{"specs imports core", "specs", "emulator/core", "specs.go", "specs imports emulator/core (in specs.go)"},
		{"emulator reaches conformance", "emulator", "conformance", "sandbox.go", "emulator imports conformance (in sandbox.go)"},
		{"emulator reaches sandboxtest", "emulator", "sandboxtest", "sandbox.go", "emulator imports sandboxtest (in sandbox.go)"},
		{"emulator reaches a command", "emulator", "cmd/sandbox", "serve.go", "emulator imports cmd/sandbox (in serve.go)"},
		{"command uses a surface beyond flags", "cmd/sandbox", "emulator/oauth", "main.go", "cmd/sandbox imports emulator/oauth (in main.go)"},
		{"conformance reaches a surface", "conformance", "emulator/webhooks", "runner.go", "conformance imports emulator/webhooks (in runner.go)"},
		{"sandboxtest reaches a surface", "sandboxtest", "emulator/faults", "options.go", "sandboxtest imports emulator/faults (in options.go)"},
		{"client reaches the emulator", "client", "emulator", "client.go", "client imports emulator (in client.go)"},
		{"unknown package", "emulator/newthing", "", "", "emulator/newthing: no layer rule for this package (add it to internal/layers)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			graph := pkgImports{tt.pkg: {}}
			if tt.imp != "" {
				graph[tt.pkg][tt.imp] = []string{tt.file}
			}
			if got := check(graph, rules()); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("check = %q, want [%q]", got, tt.want)
			}
		})
	}
	// A surface importing another in flags.go is still a break: the file
	// exception is for commands alone.
	if got := check(pkgImports{"emulator/oauth": {"emulator/platform": {"flags.go"}}}, rules()); len(got) != 1 {
		t.Errorf("surface import in flags.go: got %q, want one violation", got)
	}
	// Core may import an internal leaf, and only while it is one.
	coreScans := pkgImports{"emulator/core": {"internal/jsonscan": {"strict.go"}}}
	if got := check(coreScans, rules()); len(got) != 0 {
		t.Errorf("core imports an internal leaf: got %q, want no violation", got)
	}
	grown := rules()
	grown["internal/jsonscan"] = rule{allow: []string{"specs"}}
	if got := check(coreScans, grown); len(got) != 1 {
		t.Errorf("core imports an internal package that is no leaf: got %q, want one violation", got)
	}
}
