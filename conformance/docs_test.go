package conformance_test

import (
	"os"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
	"github.com/knogin/argus-sandbox/scenarios"
)

// TestREADMEDocumentsEveryScenario: the README's table has a row for
// every scenario of the default suite, and the reference consumer's README
// one for every broken variant.
func TestREADMEDocumentsEveryScenario(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	all, err := conformance.Load(scenarios.Default())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if !strings.Contains(string(readme), "| `"+s.Name+"` |") {
			t.Errorf("README.md has no row for scenario %s", s.Name)
		}
	}
	variants, err := os.ReadFile("../examples/consumer/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range consumer.Bugs {
		if !strings.Contains(string(variants), "| `"+string(b)+"` |") {
			t.Errorf("examples/consumer/README.md has no row for variant %s", b)
		}
	}
}
