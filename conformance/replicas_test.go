package conformance_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/examples/consumer"
	"github.com/knogin/argus-sandbox/internal/pgtest"
)

// balanced are the scenarios run behind the balancer: write-backs counted
// across replicas; retries after an error, a lost response and a
// timeout, each waited for on whichever replica answers; and a clock
// moved on one replica through the retries the other keeps timers for
// (recovery-after-disable: 16 attempts of two deliveries published
// through alternate replicas, over 121 hours, then the endpoint disabled
// and recovered).
var balanced = []string{"recovery-after-disable", "localized-display-text", "single-delivery", "response-lost", "consumer-error-retry", "consumer-timeout-retry", "retry-fresh-timestamp"}

// TestReplicasBehindABalancerCountWriteBacks runs scenarios that count a
// consumer's write-backs and wait for retries against two replicas on one
// PostgreSQL database behind a round-robin balancer, as a hosted sandbox
// is: every request, the runner's control plane included, goes to the
// next replica. The runner reads the journal on either replica while the
// write-backs land on both, so a journal kept per replica reports notes
// never applied; it waits for idle deliveries on either replica while the
// other may have an attempt in flight or a retry due, so an idle wait
// that knew only the answering replica's deliveries returned early and
// the scenario found "no matching attempt was made".
func TestReplicasBehindABalancerCountWriteBacks(t *testing.T) {
	u := pgtest.Database(t)
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	var replicas []http.Handler
	for range 2 {
		sb, err := emulator.New(emulator.Config{Issuer: base, DatabaseURL: u, OperatorToken: "op-conformance", WebhookAttemptTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sb.Close)
		replicas = append(replicas, sb.Handler())
	}
	var next atomic.Uint64
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		replicas[next.Add(1)%2].ServeHTTP(w, r)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone), StateDir: t.TempDir(),
		Sandbox: &conformance.RemoteSandbox{URL: base, OperatorToken: "op-conformance"}, Run: "^(" + strings.Join(balanced, "|") + ")$"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scenarios) != len(balanced) {
		t.Fatalf("%d scenarios ran, want %d", len(rep.Scenarios), len(balanced))
	}
	if f := failing(rep); len(f) != 0 {
		for _, s := range rep.Scenarios {
			for _, c := range s.Checks {
				if c.Status != conformance.StatusPass || testing.Verbose() {
					t.Logf("%s: %s: %s", s.Name, c.Name, c.Detail)
				}
			}
		}
		t.Fatalf("failing against two replicas: %v", f)
	}
}
