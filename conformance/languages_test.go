package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/knogin/argus-sandbox/conformance"
)

// TestReferenceConsumersInOtherLanguages runs the whole default suite,
// through --exec, against the Python (standard library) and Node.js (no
// packages) consumers written from the README's consumer section alone:
// that section is enough to write a passing consumer in any language.
// Without the interpreter the test skips, except in CI (.ci/run installs
// Debian's python3 and nodejs), where it fails.
func TestReferenceConsumersInOtherLanguages(t *testing.T) {
	tests := []struct {
		name        string
		interpreter []string
		script      string
	}{
		// Debian's python3, not a version manager's shim that may pick
		// another interpreter per directory.
		{name: "python", interpreter: []string{"/usr/bin/python3", "python3"}, script: "python/consumer.py"},
		{name: "node", interpreter: []string{"node", "nodejs"}, script: "node/consumer.js"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			interp := ""
			for _, name := range tt.interpreter {
				if p, err := exec.LookPath(name); err == nil {
					interp = p
					break
				}
			}
			if interp == "" {
				if os.Getenv("CI") != "" {
					t.Fatalf("none of %v is installed (.ci/run installs them from Debian)", tt.interpreter)
				}
				t.Skipf("none of %v is installed", tt.interpreter)
			}
			script, err := filepath.Abs(filepath.Join("..", "examples", tt.script))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := conformance.Run(context.Background(), conformance.Config{
				Consumer: &conformance.Exec{Command: strconv.Quote(interp) + " " + strconv.Quote(script)}, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			mustPassEverything(t, rep)
		})
	}
}
