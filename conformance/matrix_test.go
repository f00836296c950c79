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
	}{
		{name: "no dedupe", bug: consumer.BugNoDedupe, want: []string{"burst-with-duplicates:fail", "duplicate-concurrent:fail",
			"duplicate-sequential:fail", "response-lost:fail", "restart-between-duplicates:fail"}},
		{name: "check then act", bug: consumer.BugCheckThenAct, want: []string{"burst-with-duplicates:fail", "duplicate-concurrent:fail"}},
		{name: "dedupe in memory", bug: consumer.BugMemoryDedupe, want: []string{"restart-between-duplicates:fail"}},
		{name: "no signature check", bug: consumer.BugNoSignature, want: []string{"invalid-signature:fail", "stale-timestamp:fail"}},
		{name: "5xx on unknown types", bug: consumer.BugUnknown5xx, want: []string{"unknown-event-type:fail"}},
		{name: "older over newer", bug: consumer.BugLastWriteWins, want: []string{"out-of-order:fail"}},
		{name: "slow acknowledgement", bug: consumer.BugSlowAck, want: []string{"single-delivery:fail"}},
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
		})
	}
}
