package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// ErrFailed is what Report.Err wraps when a scenario failed.
var ErrFailed = errors.New("conformance: the consumer failed")

// FailedError names the scenarios that failed; it wraps ErrFailed.
type FailedError struct {
	// Failed are the names of the failed scenarios, in run order.
	Failed []string
	// Of counts the scenarios that ran.
	Of int
}

// Error reads "conformance: the consumer failed 2 of 15 scenarios:
// duplicate-sequential, out-of-order".
func (e *FailedError) Error() string {
	return fmt.Sprintf("%s %d of %d scenarios: %s", ErrFailed, len(e.Failed), e.Of, strings.Join(e.Failed, ", "))
}

// Unwrap makes errors.Is(err, ErrFailed) true.
func (e *FailedError) Unwrap() error { return ErrFailed }

// Err is nil when no scenario failed, else a *FailedError naming them.
// Unverified and skipped scenarios fail nothing.
func (r *Report) Err() error {
	e := &FailedError{}
	for _, s := range r.Scenarios {
		switch s.Status {
		case StatusFail:
			e.Failed = append(e.Failed, s.Name)
			e.Of++
		case StatusPass, StatusUnverified:
			e.Of++
		}
	}
	if len(e.Failed) == 0 {
		return nil
	}
	return e
}

// RunT runs the suite from a Go test, each scenario a subtest of t named
// after it, reported as it ends: a failed scenario fails its subtest with
// the scenario's text report (what was sent, what came back, each check),
// an unverified or skipped one skips it with the reason. A setup error
// fails t at once. It returns the report (nil after a setup error before
// any scenario).
//
//	func TestConsumer(t *testing.T) {
//		conformance.RunT(t, conformance.Config{Consumer: &conformance.Exec{Command: "./my-consumer"}})
//	}
func RunT(t *testing.T, cfg Config) *Report {
	t.Helper()
	return runT(testingT{t}, cfg)
}

// tester is the part of *testing.T that runT uses, so its own test can
// watch what it reports.
type tester interface {
	Helper()
	Fatalf(format string, args ...any)
	Context() context.Context
	// subtest runs f as the subtest name.
	subtest(name string, f func(subtester))
}

// subtester is the part of a subtest's *testing.T that runT uses.
type subtester interface {
	Error(args ...any)
	Skip(args ...any)
}

type testingT struct{ *testing.T }

func (t testingT) subtest(name string, f func(subtester)) {
	t.Run(name, func(t *testing.T) { f(t) })
}

func runT(t tester, cfg Config) *Report {
	t.Helper()
	cfg.OnResult = func(res Result) {
		t.subtest(res.Name, func(st subtester) {
			switch res.Status {
			case StatusFail:
				var b strings.Builder
				writeScenario(&b, res)
				st.Error("\n" + b.String())
			case StatusUnverified:
				st.Skip("unverified: " + firstNonEmpty(res.Reason, unverifiedReason(res)))
			case StatusSkipped:
				st.Skip("skipped: " + res.Reason)
			}
		})
	}
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	return rep
}

// unverifiedReason names the first unverified check of a result.
func unverifiedReason(res Result) string {
	for _, c := range res.Checks {
		if c.Status == StatusUnverified {
			return c.Name + ": " + c.Detail
		}
	}
	return "an observation was unavailable"
}
