package conformance_test

import (
	"context"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

// inProcess runs the reference consumer, with one bug or none, in this
// process.
func inProcess(bug consumer.Bug) *conformance.InProcess {
	return &conformance.InProcess{
		WebhookPath: consumer.WebhookPath,
		ProbePath:   consumer.ProbePath,
		New: func(env conformance.Env) (http.Handler, io.Closer, error) {
			c, err := consumer.New(consumer.Config{
				Secret: env.Secret, StateDir: env.StateDir, Bug: bug, AckDelay: 2500 * time.Millisecond,
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
