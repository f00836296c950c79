package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocumentedCommandsRunFromTheRepository checks the shell commands of
// every Markdown file, as run from the repository root: `go build -o X`
// must write a file under bin/ (which .gitignore ignores) or outside the
// repository, never into a package directory such as conformance/, and no
// command may run a directory (`./conformance run`).
func TestDocumentedCommandsRunFromTheRepository(t *testing.T) {
	root := filepath.Join("..", "..")
	buildOut := regexp.MustCompile(`go build\b[^\n]*?\s-o\s+(\S+)`)
	runs := regexp.MustCompile("(?m)^\\s*\\./([^\\s`]+)")
	var docs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir
		}
		if strings.HasSuffix(path, ".md") {
			docs = append(docs, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 2 {
		t.Fatalf("found only %v", docs)
	}
	isDir := func(rel string) bool {
		st, err := os.Stat(filepath.Join(root, rel))
		return err == nil && st.IsDir()
	}
	for _, doc := range docs {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range buildOut.FindAllStringSubmatch(string(raw), -1) {
			out := m[1]
			if !filepath.IsAbs(out) && !strings.HasPrefix(filepath.ToSlash(filepath.Clean(out)), "bin/") || isDir(out) {
				t.Errorf("%s: %q writes %s into the repository; build into bin/", doc, m[0], out)
			}
		}
		for _, m := range runs.FindAllStringSubmatch(string(raw), -1) {
			if isDir(m[1]) {
				t.Errorf("%s: %q runs the directory %s", doc, strings.TrimSpace(m[0]), m[1])
			}
		}
	}
}
