package conformance_test

import (
	"context"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

// TestReachability: a consumer the sandbox cannot reach (it listens on one
// loopback address, the webhook URL names another) stops the run before
// any scenario with an error naming CallbackHost; the same consumer
// listening on every address, reached at that other address, runs.
func TestReachability(t *testing.T) {
	t.Run("unreachable", func(t *testing.T) {
		rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone), StateDir: t.TempDir(),
			Run: "^single-delivery$", ListenHost: "127.0.0.1", CallbackHost: "127.0.0.2"})
		var fe *conformance.FieldError
		if !errorsAs(err, &fe) || fe.Field != "CallbackHost" {
			t.Fatalf("err = %v, want a FieldError on CallbackHost", err)
		}
		for _, want := range []string{`"127.0.0.2"`, "cannot reach the consumer at http://127.0.0.2:", "connection_refused"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if rep != nil {
			t.Errorf("a report of %d scenarios, want none run", len(rep.Scenarios))
		}
	})
	t.Run("listening elsewhere than advertised", func(t *testing.T) {
		rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone), StateDir: t.TempDir(),
			Run: "^single-delivery$", ListenHost: "0.0.0.0", CallbackHost: "127.0.0.2"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(rep.Target, "http://127.0.0.2:") || rep.Failed() {
			t.Errorf("target %s, failed %v: want a passing run delivering to 127.0.0.2", rep.Target, rep.Failed())
		}
	})
}
