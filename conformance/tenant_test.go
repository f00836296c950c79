package conformance_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

// TestFreshTenantLeavesOtherTenantsAlone runs scenarios (retries on the
// clock, a fault rule on the consumer's calls, write-backs to fixture
// cases) in a tenant of the run's own on a shared sandbox: a subscriber of
// another tenant receives nothing, that tenant's clock does not move, and
// no tenant or fault rule is left behind.
func TestFreshTenantLeavesOtherTenantsAlone(t *testing.T) {
	ctx := context.Background()
	rs := startRemote(t)
	op := client.New(rs.URL, client.WithOperatorToken(rs.OperatorToken), client.WithToken("sandbox_admin_acme"))
	var received atomic.Int32
	bystander := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		received.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(bystander.Close)
	types, err := op.Webhooks().EventTypes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var topics []string
	for _, et := range types {
		topics = append(topics, et.Type)
	}
	if _, err := op.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: "acme", URL: bystander.URL, Events: topics,
		Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := op.Sandbox().UpdateClock(ctx, client.ClockUpdate{Freeze: &yes}); err != nil {
		t.Fatal(err)
	}
	before, err := op.Sandbox().TenantClock(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}

	fresh := *rs
	fresh.FreshTenant = true
	rep, err := conformance.Run(ctx, conformance.Config{Consumer: inProcess(consumer.BugNone), StateDir: t.TempDir(), Sandbox: &fresh,
		Run: "^(single-delivery|consumer-error-retry|response-lost)$"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rep.Scenarios {
		if s.Status != conformance.StatusPass {
			t.Errorf("%s: %s (%s)", s.Name, s.Status, s.Reason)
		}
	}
	if len(rep.Scenarios) != 3 {
		t.Fatalf("%d scenarios ran, want 3", len(rep.Scenarios))
	}

	if err := op.Sandbox().WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if n := received.Load(); n != 0 {
		t.Errorf("acme's subscriber received %d deliveries from a run in its own tenant", n)
	}
	after, err := op.Sandbox().TenantClock(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !after.Now.Equal(before.Now) {
		t.Errorf("acme's clock moved from %s to %s during the run", before.Now, after.Now)
	}
	page, err := op.Sandbox().Tenants(ctx, client.ListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range page.Data {
		if !tn.Fixture {
			t.Errorf("the run left tenant %s behind", tn.ID)
		}
	}
	if rules, err := op.Sandbox().Faults(ctx); err != nil || len(rules) != 0 {
		t.Errorf("fault rules after the run: %+v, %v", rules, err)
	}
}
