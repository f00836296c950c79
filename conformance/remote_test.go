package conformance_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

// injected matches spec mismatches that fault rules cause on purpose: an
// error status the operation does not document, as a gateway would answer.
var injected = regexp.MustCompile(`→ (429|5\d\d): status is not supported`)

// startRemote serves a sandbox on an httptest server, protected by an
// operator token as one beyond loopback is; every response is checked
// against the specs. Its attempt timeout is the 1 s of a run's own
// sandbox, not the default 15 s that consumer-timeout-retry would wait out.
func startRemote(t *testing.T) *conformance.RemoteSandbox {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	sb, err := emulator.New(emulator.Config{Issuer: base, OperatorToken: "op-conformance", WebhookAttemptTimeout: time.Second,
		CheckResponse: func(r *http.Request, op string, err error) {
			// A request whose client went away (a consumer's call abandoned
			// with its timed-out attempt) has no response to check.
			if !injected.MatchString(err.Error()) && r.Context().Err() == nil {
				t.Errorf("%s %s (%s): response does not match the spec: %v", r.Method, r.URL.Path, op, err)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return &conformance.RemoteSandbox{URL: base, OperatorToken: "op-conformance"}
}

// outcome is what must not depend on the engine: each scenario's verdict
// and every check's verdict.
func outcome(rep *conformance.Report) map[string][]string {
	out := map[string][]string{}
	for _, s := range rep.Scenarios {
		v := []string{string(s.Status)}
		for _, c := range s.Checks {
			v = append(v, c.At+" "+c.Name+": "+string(c.Status))
		}
		out[s.Name] = v
	}
	return out
}

// TestRemoteSandboxGivesTheEmbeddedResults runs the default suite through
// a sandbox driven over HTTP only and compares every verdict with a run on
// the embedded sandbox.
func TestRemoteSandboxGivesTheEmbeddedResults(t *testing.T) {
	tests := []struct {
		name string
		bug  consumer.Bug
	}{
		{"correct consumer", consumer.BugNone},
		{"dedupe in memory", consumer.BugMemoryDedupe},
		{"no signature check", consumer.BugNoSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			embedded, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(tt.bug), StateDir: t.TempDir(), Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			remote, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(tt.bug), StateDir: t.TempDir(),
				Sandbox: startRemote(t)})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(outcome(embedded), outcome(remote)); diff != "" {
				t.Errorf("remote verdicts differ from embedded (-embedded +remote):\n%s", diff)
			}
			if len(remote.Scenarios) == 0 || len(remote.Scenarios[0].Deliveries) == 0 {
				t.Errorf("the remote run recorded no delivery evidence: %+v", remote.Scenarios)
			}
		})
	}
}

func TestRemoteSandboxSetupErrors(t *testing.T) {
	rs := startRemote(t)
	tests := []struct {
		name    string
		sandbox conformance.RemoteSandbox
		wantErr string
	}{
		{"wrong operator token", conformance.RemoteSandbox{URL: rs.URL, OperatorToken: "nope"}, "Sandbox.OperatorToken"},
		{"wrong admin token", conformance.RemoteSandbox{URL: rs.URL, OperatorToken: rs.OperatorToken, AdminToken: "nope"}, "Sandbox.AdminToken"},
		{"not a URL", conformance.RemoteSandbox{URL: "127.0.0.1:8080"}, "base URL"},
		{"nothing listening", conformance.RemoteSandbox{URL: "http://127.0.0.1:1"}, "sandbox at http://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone),
				StateDir: t.TempDir(), Sandbox: &tt.sandbox})
			var setup *conformance.SetupError
			if !errorsAs(err, &setup) || !contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want a setup error mentioning %q", err, tt.wantErr)
			}
		})
	}
}
