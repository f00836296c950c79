package conformance_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

// probeTarget serves the correct consumer's webhook with probe answering
// the probe path instead.
func probeTarget(t *testing.T, probe http.HandlerFunc) *conformance.Target {
	t.Helper()
	c, err := consumer.New(consumer.Config{Secret: targetSecret, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(consumer.WebhookPath, c.Handler())
	mux.Handle(consumer.ProbePath, probe)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); _ = c.Close() })
	return &conformance.Target{URL: srv.URL + consumer.WebhookPath, Probe: srv.URL + consumer.ProbePath}
}

// TestProbeProblems: a configured probe that does not answer a probe
// document is a setup error naming its URL and status, before any
// scenario; a document without "cases" leaves case checks unverified.
func TestProbeProblems(t *testing.T) {
	tests := []struct {
		name       string
		probe      http.HandlerFunc
		wantErr    []string
		wantChecks map[string]conformance.Status
	}{
		{name: "not found", probe: http.NotFound, wantErr: []string{consumer.ProbePath, "404"}},
		{name: "not JSON", probe: func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<html>ok</html>") },
			wantErr: []string{consumer.ProbePath, "not a probe document"}},
		{name: "no cases member", probe: func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `{"applied": {}}`) },
			wantChecks: map[string]conformance.Status{"applied": conformance.StatusFail, "mirrored cases": conformance.StatusUnverified}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: probeTarget(t, tt.probe),
				Secret: targetSecret, Run: "^out-of-order$"})
			if len(tt.wantErr) > 0 {
				var se *conformance.SetupError
				if !errors.As(err, &se) {
					t.Fatalf("err %v, want a setup error", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range rep.Scenarios[0].Checks {
				for prefix, want := range tt.wantChecks {
					if strings.HasPrefix(c.Name, prefix) && c.Status != want {
						t.Errorf("check %q: %s (%s), want %s", c.Name, c.Status, c.Detail, want)
					}
				}
			}
		})
	}
}

// TestScenarioSetupFailureIsASetupError: a scenario the sandbox cannot set
// up (here: notes counted on a case that does not exist) stops the run
// with a setup error naming the scenario, instead of failing the consumer.
func TestScenarioSetupFailureIsASetupError(t *testing.T) {
	suite := fstest.MapFS{"ghost-case.yaml": {Data: []byte("name: ghost-case\ntitle: t\ndetects: d\nwhy: w\n" +
		"steps: [{publish: {as: e1, topic: case.closed, case: case_acme_9999}}]\nexpect: {notes: {case_acme_9999: 1}}\n")}}
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone),
		StateDir: t.TempDir(), Scenarios: suite})
	var se *conformance.SetupError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "ghost-case") || !strings.Contains(err.Error(), "case_acme_9999") {
		t.Fatalf("err %v, want a setup error naming the scenario and the case", err)
	}
	if rep == nil || len(rep.Scenarios) != 1 || rep.Scenarios[0].Status == conformance.StatusFail {
		t.Errorf("report %+v: want the scenario recorded, not failed", rep)
	}
}

// TestNotesComeFromTheRequestJournal: the notes a consumer wrote back are
// its own successful addCaseNote calls as the sandbox's request journal
// shows them, and the check says so.
func TestNotesComeFromTheRequestJournal(t *testing.T) {
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone),
		StateDir: t.TempDir(), Run: "^consumer-error-retry$"})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range rep.Scenarios[0].Checks {
		if strings.HasPrefix(c.Name, "notes written back") {
			found = true
			if c.Status != conformance.StatusPass || !strings.Contains(c.Detail, "request journal") {
				t.Errorf("check %q: %s %q, want a pass resting on the request journal", c.Name, c.Status, c.Detail)
			}
		}
	}
	if !found {
		t.Errorf("no notes check in %+v", rep.Scenarios[0].Checks)
	}
}
