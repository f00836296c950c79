package conformance_test

import (
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

// inProcess runs the reference consumer, with one bug or none, in this
// process.
func inProcess(bug consumer.Bug) *conformance.InProcess { return inProcessMode(bug, false) }

// inProcessMode runs the reference consumer, applying before it answers
// or, async, from its durable queue after it answered.
func inProcessMode(bug consumer.Bug, async bool) *conformance.InProcess {
	return &conformance.InProcess{
		WebhookPath: consumer.WebhookPath,
		ProbePath:   consumer.ProbePath,
		New: func(env conformance.Env) (http.Handler, io.Closer, error) {
			c, err := consumer.New(consumer.Config{
				Secret: env.Secret, StateDir: env.StateDir, Bug: bug, AckDelay: 2500 * time.Millisecond, Async: async,
				Argus: &consumer.ArgusClient{BaseURL: env.BaseURL, ClientID: env.ClientID, ClientSecret: env.ClientSecret},
			})
			if err != nil {
				return nil, nil, err
			}
			return c.Handler(), c, nil
		},
	}
}

func failing(rep *conformance.Report) []string {
	var out []string
	for _, s := range rep.Scenarios {
		if s.Status != conformance.StatusPass {
			out = append(out, s.Name+":"+string(s.Status))
		}
	}
	sort.Strings(out)
	return out
}

func TestCorrectConsumerPassesEverything(t *testing.T) {
	start := time.Now()
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone), StateDir: t.TempDir(), Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default suite against the correct consumer: %s", time.Since(start))
	mustPassEverything(t, rep)
}

// TestAsynchronousConsumerPassesEverything: a consumer that answers once a
// delivery is in its durable queue and applies it afterwards is correct;
// the runner judges it once it has settled, and says how long it took.
func TestAsynchronousConsumerPassesEverything(t *testing.T) {
	start := time.Now()
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcessMode(consumer.BugNone, true), StateDir: t.TempDir(), Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default suite against the asynchronous consumer: %s", time.Since(start))
	mustPassEverything(t, rep)
	var settled time.Duration
	for _, s := range rep.Scenarios {
		settled = max(settled, s.Settle)
	}
	if settled == 0 {
		t.Error("no scenario reports that the asynchronous consumer took any time to settle")
	}
}

func mustPassEverything(t *testing.T, rep *conformance.Report) {
	t.Helper()
	if got := failing(rep); len(got) > 0 {
		for _, s := range rep.Scenarios {
			if s.Status != conformance.StatusPass {
				t.Logf("%s: %s %s", s.Name, s.Status, s.Reason)
				for _, c := range s.Checks {
					t.Logf("  %s %s: %s", c.Status, c.Name, c.Detail)
				}
				for _, d := range s.Deliveries {
					t.Logf("  delivery %+v", d)
				}
			}
		}
		t.Errorf("correct consumer did not pass: %v", got)
	}
}

// TestBrokenConsumersFailExactlyTheirScenarios proves each scenario
// catches the bug it targets and nothing else: every broken variant fails
// exactly the listed scenarios and passes the rest.
func TestBrokenConsumersFailExactlyTheirScenarios(t *testing.T) {
	tests := []struct {
		name string
		bug  consumer.Bug
		want []string
		// named maps a scenario to a check that must fail in it, by name.
		named map[string]string
	}{
		{name: "no dedupe", bug: consumer.BugNoDedupe, want: []string{"burst-with-duplicates:fail", "duplicate-concurrent:fail",
			"duplicate-sequential:fail", "response-lost:fail", "restart-between-duplicates:fail", "retry-fresh-timestamp:fail", "retry-storm:fail"}},
		{name: "check then act", bug: consumer.BugCheckThenAct, want: []string{"burst-with-duplicates:fail", "duplicate-concurrent:fail", "retry-storm:fail"}},
		{name: "dedupe in memory", bug: consumer.BugMemoryDedupe, want: []string{"restart-between-duplicates:fail"}},
		{name: "dedupe on id and timestamp", bug: consumer.BugDedupeOnTimestamp, want: []string{"response-lost:fail",
			"restart-between-duplicates:fail", "retry-fresh-timestamp:fail"}},
		{name: "no signature check", bug: consumer.BugNoSignature, want: []string{"future-timestamp:fail", "invalid-signature:fail",
			"recovery-after-disable:fail", "rotation-end:fail", "signature-body-altered:fail", "signature-id-swapped:fail", "signature-malformed:fail",
			"signature-missing:fail", "signature-unknown-version:fail", "stale-timestamp:fail"}},
		{name: "10 s timestamp window", bug: consumer.BugNarrowWindow, want: []string{"timestamp-skew-tolerated:fail"}},
		{name: "no future bound", bug: consumer.BugNoFutureBound, want: []string{"future-timestamp:fail"}},
		{name: "any signature version", bug: consumer.BugAnyVersion, want: []string{"signature-malformed:fail", "signature-unknown-version:fail"}},
		{name: "first signature only", bug: consumer.BugFirstSignatureOnly, want: []string{"secret-rotation:fail", "signature-later-valid:fail"}},
		{name: "id from the body", bug: consumer.BugIDFromBody, want: []string{"signature-id-swapped:fail"}},
		{name: "re-serialized body", bug: consumer.BugReserializedBody, want: []string{"raw-body-text:fail", "signature-body-altered:fail"}},
		{name: "any secret ever configured", bug: consumer.BugAnySecret, want: []string{"rotation-end:fail"}},
		{name: "pinned first secret", bug: consumer.BugPinnedSecret, want: []string{"rotation-end:fail"}},
		{name: "5xx on unknown types", bug: consumer.BugUnknown5xx, want: []string{"unknown-event-type:fail", "unknown-topic:fail"}},
		{name: "closed enums", bug: consumer.BugStrictEnums, want: []string{"new-enum-value:fail"}},
		{name: "older over newer", bug: consumer.BugLastWriteWins, want: []string{"interleaved-cases:fail", "out-of-order:fail",
			"update-before-create:fail"}},
		{name: "64 KiB body limit", bug: consumer.BugSmallBodyLimit, want: []string{"large-payload:fail"}},
		// Its slow work is for case.created, which update-before-create also
		// sends: it times out there too.
		{name: "slow acknowledgement", bug: consumer.BugSlowAck, want: []string{"single-delivery:fail", "update-before-create:fail"}},
		{name: "marked before applied", bug: consumer.BugMarkBeforeApply, want: []string{"consumer-error-retry:fail",
			"consumer-timeout-retry:fail", "crash-before-answer:fail", "write-back-rate-limited:fail"}, named: map[string]string{"crash-before-answer": conformance.NeverApplied}},
		{name: "acknowledged, applied from memory", bug: consumer.BugAckThenApply, want: []string{"consumer-error-retry:fail",
			"consumer-timeout-retry:fail", "crash-after-answer:fail", "crash-before-answer:fail", "write-back-rate-limited:fail"},
			named: map[string]string{"crash-after-answer": conformance.NeverApplied, "crash-before-answer": conformance.NeverApplied}},
		{name: "4xx from Argus taken as permanent", bug: consumer.BugClientErrorPermanent, want: []string{"write-back-rate-limited:fail"},
			named: map[string]string{"write-back-rate-limited": conformance.NeverApplied}},
		{name: "seen before verified", bug: consumer.BugDedupeBeforeVerify, want: []string{"consumer-error-retry:fail",
			"consumer-timeout-retry:fail", "recovery-after-disable:fail", "write-back-rate-limited:fail"}},
		{name: "2xx without applying when busy", bug: consumer.BugShedLoad, want: []string{"retry-storm:fail"},
			named: map[string]string{"retry-storm": conformance.NeverApplied}},
		{name: "failed side effect swallowed", bug: consumer.BugSwallowEffectError, want: []string{"consumer-error-retry:fail",
			"consumer-timeout-retry:fail", "write-back-rate-limited:fail"}, named: map[string]string{"consumer-error-retry": conformance.NeverApplied}},
	}
	covered := map[consumer.Bug]bool{}
	for _, tt := range tests {
		covered[tt.bug] = true
	}
	for _, b := range consumer.Bugs {
		if !covered[b] {
			t.Errorf("variant %s has no row in the matrix", b)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(tt.bug), StateDir: t.TempDir(), Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, failing(rep)); diff != "" {
				var b strings.Builder
				_ = rep.WriteText(&b)
				t.Errorf("failing scenarios (-want +got):\n%s\n%s", diff, b.String())
			}
			for scenario, check := range tt.named {
				if !failedCheck(rep, scenario, check) {
					var b strings.Builder
					_ = rep.WriteText(&b)
					t.Errorf("%s: no failed check named %q\n%s", scenario, check, b.String())
				}
			}
		})
	}
}

// failedCheck reports whether the scenario has a failed check of that name.
func failedCheck(rep *conformance.Report, scenario, name string) bool {
	for _, s := range rep.Scenarios {
		for _, c := range s.Checks {
			if s.Name == scenario && c.Name == name && c.Status == conformance.StatusFail {
				return true
			}
		}
	}
	return false
}
