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

// TestReplicasBehindABalancerCountWriteBacks runs the scenarios that
// count a consumer's write-backs against two replicas on one PostgreSQL
// database behind a round-robin balancer, as a hosted sandbox is: the
// runner reads the journal on either replica while the write-backs land
// on one, so a journal kept per replica reports notes never applied.
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
	// The consumer's calls (its token, its write-backs) go to the second
	// replica, and the runner's journal reads alternate; the rest of the
	// control plane stays on the first, whose delivery engine the runner
	// waits on (the engines share the deliveries, but waiting for them to
	// go idle is per replica).
	var next atomic.Uint64
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/"):
			replicas[1].ServeHTTP(w, r)
		case r.URL.Path == "/_sandbox/requests":
			replicas[next.Add(1)%2].ServeHTTP(w, r)
		default:
			replicas[0].ServeHTTP(w, r)
		}
	})
	srv.Start()
	t.Cleanup(srv.Close)
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone), StateDir: t.TempDir(),
		Sandbox: &conformance.RemoteSandbox{URL: base, OperatorToken: "op-conformance"}, Run: "^(localized-display-text|response-lost|consumer-error-retry)$"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scenarios) != 3 {
		t.Fatalf("%d scenarios ran, want 3", len(rep.Scenarios))
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
