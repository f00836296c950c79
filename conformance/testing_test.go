package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeT records what runT reports, per subtest.
type fakeT struct {
	ctx      context.Context
	fatal    string
	reported map[string]string
	order    []string
}

func (f *fakeT) Helper()                           {}
func (f *fakeT) Context() context.Context          { return f.ctx }
func (f *fakeT) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }
func (f *fakeT) subtest(name string, fn func(subtester)) {
	f.order = append(f.order, name)
	st := &fakeSub{}
	fn(st)
	f.reported[name] = st.verdict
}

type fakeSub struct{ verdict string }

func (s *fakeSub) Error(args ...any) { s.verdict = "error: " + fmt.Sprint(args...) }
func (s *fakeSub) Skip(args ...any)  { s.verdict = "skip: " + fmt.Sprint(args...) }

// acceptAll answers every delivery 204; its probe reports neither what it
// applied nor the cases it mirrors.
func acceptAll() *InProcess {
	return &InProcess{New: func(Env) (http.Handler, io.Closer, error) {
		mux := http.NewServeMux()
		mux.HandleFunc("POST "+DefaultWebhookPath, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
		mux.HandleFunc("GET "+DefaultProbePath, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"pending": 0}`)
		})
		return mux, io.NopCloser(nil), nil
	}}
}

// TestRunT: each scenario is a subtest named after it, in run order; a
// failed one fails its subtest with its report, an unverified or skipped
// one is skipped with the reason; Report.Err names the failures.
func TestRunT(t *testing.T) {
	f := &fakeT{ctx: t.Context(), reported: map[string]string{}}
	rep := runT(f, Config{Consumer: acceptAll(), StateDir: t.TempDir(),
		Run: "^(duplicate-sequential|invalid-signature|single-delivery|unknown-event-type)$", Skip: "^unknown-"})
	if f.fatal != "" {
		t.Fatal(f.fatal)
	}
	want := []string{"duplicate-sequential", "invalid-signature", "single-delivery", "unknown-event-type"}
	if diff := cmp.Diff(want, f.order); diff != "" {
		t.Errorf("subtests (-want +got):\n%s", diff)
	}
	for name, prefix := range map[string]string{
		"duplicate-sequential": "skip: unverified: applied updated=1: the probe document has no \"applied\" member",
		"invalid-signature":    "error: \nFAIL       invalid-signature",
		"single-delivery":      "skip: unverified: applied opened=1",
		"unknown-event-type":   "skip: skipped: its name matches the skip pattern",
	} {
		if !strings.HasPrefix(f.reported[name], prefix) {
			t.Errorf("%s reported %q, want it to begin %q", name, f.reported[name], prefix)
		}
	}
	err := rep.Err()
	var fe *FailedError
	if !errors.Is(err, ErrFailed) || !errors.As(err, &fe) || len(fe.Failed) != 1 || fe.Of != 3 {
		t.Fatalf("Err() = %v, want 1 of 3 failed", err)
	}
	if got := err.Error(); got != "conformance: the consumer failed 1 of 3 scenarios: invalid-signature" {
		t.Errorf("Err() reads %q", got)
	}
}

// TestRunTSetupError: a setup error fails the test, with no subtest.
func TestRunTSetupError(t *testing.T) {
	f := &fakeT{ctx: t.Context(), reported: map[string]string{}}
	if rep := runT(f, Config{Consumer: acceptAll(), Run: "("}); rep != nil || !strings.Contains(f.fatal, "Run is not a regular expression") || len(f.order) > 0 {
		t.Errorf("report %v, fatal %q, subtests %v: want a fatal setup error and nothing run", rep, f.fatal, f.order)
	}
}

// TestReportErrNil: a report without failures has no error.
func TestReportErrNil(t *testing.T) {
	rep := &Report{Scenarios: []Result{{Name: "a", Status: StatusPass}, {Name: "b", Status: StatusUnverified}, {Name: "c", Status: StatusSkipped}}}
	if err := rep.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}
