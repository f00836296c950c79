package conformance_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

func verdicts(rep *conformance.Report) []string {
	var out []string
	for _, s := range rep.Scenarios {
		out = append(out, s.Name+":"+string(s.Status))
	}
	return out
}

// TestSkip: a skipped scenario is not run, and the report lists it as
// skipped, not as passed or unverified.
func TestSkip(t *testing.T) {
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNoDedupe), StateDir: t.TempDir(),
		Run: "^(single-delivery|duplicate-sequential)$", Skip: "^duplicate-"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"duplicate-sequential:skipped", "single-delivery:pass"}
	if diff := cmp.Diff(want, verdicts(rep)); diff != "" {
		t.Errorf("scenarios (-want +got):\n%s", diff)
	}
	if got := rep.Totals(); got != (conformance.Totals{Passed: 1, Skipped: 1}) {
		t.Errorf("totals = %+v, want 1 passed, 1 skipped", got)
	}
	var b strings.Builder
	_ = rep.WriteText(&b)
	if !strings.Contains(b.String(), "1 passed, 0 failed, 0 unverified, 1 skipped") {
		t.Errorf("text report lacks the skipped count:\n%s", b.String())
	}
	if rep.Failed() {
		t.Error("a skipped scenario failed the run")
	}
}

func TestSkipNotARegexp(t *testing.T) {
	_, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone), Skip: "("})
	var fe *conformance.FieldError
	if !errorsAs(err, &fe) || fe.Field != "Skip" {
		t.Errorf("err = %v, want a FieldError on Skip", err)
	}
}

// TestFailFast: the run stops after the first failed scenario and says how
// many it did not run.
func TestFailFast(t *testing.T) {
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNoDedupe), StateDir: t.TempDir(),
		Run: "^(duplicate-sequential|single-delivery|unknown-fields)$", FailFast: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"duplicate-sequential:fail"}, verdicts(rep)); diff != "" {
		t.Errorf("scenarios (-want +got):\n%s", diff)
	}
	if rep.NotRun != 2 {
		t.Errorf("NotRun = %d, want 2", rep.NotRun)
	}
	var b strings.Builder
	_ = rep.WriteText(&b)
	if !strings.Contains(b.String(), "2 scenarios not run") {
		t.Errorf("text report does not say what was not run:\n%s", b.String())
	}
}

// TestScenarioTimeout: a scenario that outlives ScenarioTimeout fails, and
// its reason names the timeout; the run goes on to the next scenario.
func TestScenarioTimeout(t *testing.T) {
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone), StateDir: t.TempDir(),
		Run: "^(single-delivery|duplicate-sequential)$", ScenarioTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"duplicate-sequential:fail", "single-delivery:fail"}, verdicts(rep)); diff != "" {
		t.Errorf("scenarios (-want +got):\n%s", diff)
	}
	for _, s := range rep.Scenarios {
		if !strings.Contains(s.Reason, "did not finish within the scenario timeout of 1ns") {
			t.Errorf("%s: reason %q does not name the timeout", s.Name, s.Reason)
		}
	}
}
