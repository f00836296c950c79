package client_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// imports lists the packages the non-test files of dir import.
func imports(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s: %v", dir, err)
	}
	out := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			out[path] = true
		}
	}
	return out
}

// TestLayers states who may import whom around the client: the client is
// what integrators and the commands use, so it needs nothing but the
// standard library; the conformance runner, sandboxtest and the
// conformance command drive a sandbox through it, and may start one with
// package emulator, but never reach into the emulator's surfaces.
func TestLayers(t *testing.T) {
	for path := range imports(t, ".") {
		if first, _, _ := strings.Cut(path, "/"); strings.Contains(first, ".") {
			t.Errorf("client imports %s: it may import only the standard library", path)
		}
	}
	const surfaces = "github.com/knogin/argus-sandbox/emulator/"
	for _, dir := range []string{"../conformance", "../sandboxtest", "../cmd/conformance"} {
		for path := range imports(t, dir) {
			if strings.HasPrefix(path, surfaces) {
				t.Errorf("%s imports %s: drive the sandbox through package client (start one with package emulator)", dir, path)
			}
		}
	}
}
