package conformance_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/examples/consumer"
	"github.com/knogin/argus-sandbox/internal/pgtest"
	"github.com/knogin/argus-sandbox/scenarios"
)

// TestReplicasBehindABalancerCountWriteBacks runs the whole suite against
// two replicas on one PostgreSQL database behind a round-robin balancer,
// as a hosted sandbox is: every request, the runner's control plane
// included, goes to the next replica. Each scenario passes as it does
// against one process. Among what that takes: the runner reads the
// journal on either replica while the write-backs land on both; it waits
// for idle deliveries on either replica while the other may have an
// attempt in flight or a retry due; a clock moved on one replica walks
// through the retries the other keeps timers for (recovery-after-disable:
// 16 attempts over 121 hours); and a reorder burst fills with the
// attempts both replicas hold (out-of-order, interleaved-cases).
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
		Sandbox: &conformance.RemoteSandbox{URL: base, OperatorToken: "op-conformance"}})
	if err != nil {
		t.Fatal(err)
	}
	suite, err := conformance.Load(scenarios.Default())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scenarios) != len(suite) {
		t.Fatalf("%d scenarios ran, want the suite's %d", len(rep.Scenarios), len(suite))
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
