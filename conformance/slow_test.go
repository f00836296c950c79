package conformance_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/conformance"
)

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// neverInTime answers no delivery within the attempt timeout; its probe
// answers at once, reporting nothing applied.
func neverInTime() *conformance.InProcess {
	return &conformance.InProcess{New: func(conformance.Env) (http.Handler, io.Closer, error) {
		mux := http.NewServeMux()
		mux.HandleFunc("POST "+conformance.DefaultWebhookPath, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
		})
		mux.HandleFunc("GET "+conformance.DefaultProbePath, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"applied": {}, "cases": {}}`)
		})
		return mux, nopCloser{}, nil
	}}
}

// TestSlowConsumerFailsFast: a consumer that never answers in time fails
// the whole default suite in well under a minute, each scenario stopping
// at its first missed deadline instead of waiting out every retry.
func TestSlowConsumerFailsFast(t *testing.T) {
	start := time.Now()
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: neverInTime(), StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if took > time.Minute {
		t.Errorf("the default suite against a consumer that never answers in time took %s, want under a minute", took)
	}
	t.Logf("took %s", took)
	for _, s := range rep.Scenarios {
		t.Logf("%s %s %s", s.Name, s.Duration, s.Reason)
	}
	for _, s := range rep.Scenarios {
		if s.Status != conformance.StatusFail {
			t.Errorf("%s: %s (%s), want fail", s.Name, s.Status, s.Reason)
		}
		if s.Name == "burst-with-duplicates" && !strings.Contains(s.Reason, "did not answer in time") {
			t.Errorf("burst-with-duplicates failed for %q, want the missed deadline", s.Reason)
		}
	}
}
