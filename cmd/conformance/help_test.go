package main

import (
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/conformance"
)

// TestHelp: asking for help is not a usage error. It goes to stdout, exits
// 0, and names every variable an --exec consumer is given.
func TestHelp(t *testing.T) {
	var vars []string
	for _, kv := range (conformance.Env{}).Vars("") {
		name, _, _ := strings.Cut(kv, "=")
		vars = append(vars, name)
	}
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"run", "--help"}, {"list", "-h"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr strings.Builder
			if code := run(args, &stdout, &stderr); code != 0 {
				t.Errorf("exit code %d, want 0; stderr:\n%s", code, stderr.String())
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr = %q, want nothing", stderr.String())
			}
			for _, w := range append([]string{"conformance run", "conformance list", "--exec", "--run", "--strict"}, vars...) {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("help lacks %q:\n%s", w, stdout.String())
				}
			}
		})
	}
}

// TestVersion: --version prints the module version ("(devel)" in a test
// binary, which has no module version) and exits 0.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		var stdout, stderr strings.Builder
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Errorf("%v: exit code %d, want 0; stderr:\n%s", args, code, stderr.String())
		}
		if got := stdout.String(); !strings.HasPrefix(got, "conformance ") || !strings.HasSuffix(got, "\n") || len(strings.Fields(got)) != 2 {
			t.Errorf("%v: stdout = %q, want \"conformance VERSION\\n\"", args, got)
		}
	}
}
