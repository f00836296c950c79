package emulator_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/internal/tenantcheck"
)

// TestAControlTokenSeesItsOwnTrafficAlone: with its control token alone a
// partner reads its tenant's request journal and follows its live stream
// (requests, events, deliveries, fault firings); another tenant's records
// never appear, and naming that tenant is refused. The operator sees
// every tenant, or one with tenant.
func TestAControlTokenSeesItsOwnTrafficAlone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	env := newSandboxConfig(t, emulator.Config{OperatorToken: "operator-secret", Loopback: true})
	operator := client.New(env.url, client.WithOperatorToken("operator-secret"))
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(receiver.Close)
	partner := func(id string) *client.Client {
		t.Helper()
		c, err := operator.Sandbox().CreateTenant(ctx, client.TenantCreate{ID: id, Name: id})
		if err != nil {
			t.Fatal(err)
		}
		return operator.With(client.WithOperatorToken(c.ControlToken), client.WithToken(c.AdminToken))
	}
	a, b := partner("partner-a"), partner("partner-b")
	streamA, err := a.Sandbox().Stream(ctx, client.StreamFilter{})
	if err != nil {
		t.Fatal(err)
	}
	defer streamA.Close()
	traffic := func(pc *client.Client, id string) {
		t.Helper()
		if _, err := pc.Sandbox().AddFault(ctx, client.FaultRule{Name: id + "-once", Match: client.FaultMatch{Operation: "listApps"},
			When: client.FaultWhen{First: 1}, Action: client.FaultAction{Error: &client.FaultErrorReply{Status: 503}}}); err != nil {
			t.Fatal(err)
		}
		_, _ = pc.Platform().ListApps(ctx, client.ListOptions{}) // the fault fires
		if _, err := pc.Platform().ListApps(ctx, client.ListOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := pc.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: id, URL: receiver.URL,
			Events: []string{"case.updated"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}); err != nil {
			t.Fatal(err)
		}
		if _, err := pc.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: id, Topic: "case.updated", Synthetic: true}); err != nil {
			t.Fatal(err)
		}
		if err := pc.Sandbox().WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	traffic(b, "partner-b") // all of B's frames are published before A's
	traffic(a, "partner-a")

	seen := map[string]bool{}
	for !(seen[client.FrameRequest] && seen[client.FrameEvent] && seen[client.FrameDelivery] && seen[client.FrameFault]) {
		ev, err := streamA.Next()
		if err != nil {
			t.Fatalf("A's stream after %v: %v", seen, err)
		}
		var f struct{ Tenant string }
		_ = json.Unmarshal(ev.Data, &f)
		if f.Tenant != "partner-a" {
			t.Errorf("A's stream carried a %s frame of tenant %q: %s", ev.Type, f.Tenant, ev.Data)
		}
		seen[ev.Type] = true
	}

	// B's firing came first: its control token's most recent firing is
	// still its own, not its share of everyone's most recent.
	for _, c := range []struct {
		pc   *client.Client
		rule string
	}{{a, "partner-a-once"}, {b, "partner-b-once"}} {
		fired, err := c.pc.Sandbox().FaultEvents(ctx, client.FaultEventFilter{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(fired) != 1 || fired[0].Rule != c.rule {
			t.Errorf("a control token's most recent fault firing = %+v, want one of %s", fired, c.rule)
		}
	}

	page, err := a.Sandbox().Requests(ctx, client.RequestFilter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, e := range page.Requests {
		if e.Tenant != "partner-a" {
			t.Errorf("A's journal holds a request of tenant %q: %s %s", e.Tenant, e.Method, e.Path)
		}
		ops[e.Operation] = true
	}
	if !ops["listApps"] || !ops["triggerEvent"] {
		t.Errorf("A's journal lacks its own requests: %v", ops)
	}
	if _, err := a.Sandbox().Requests(ctx, client.RequestFilter{Tenant: "partner-b"}); tenantcheck.Status(err, 200) != http.StatusForbidden {
		t.Errorf("A's control token reading B's journal: %v, want 403", err)
	}
	if _, err := a.Sandbox().Stream(ctx, client.StreamFilter{Tenant: "partner-b"}); tenantcheck.Status(err, 200) != http.StatusForbidden {
		t.Errorf("A's control token following B's stream: %v, want 403", err)
	}

	tenantsIn := func(f client.RequestFilter) map[string]bool {
		t.Helper()
		page, err := operator.Sandbox().Requests(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, e := range page.Requests {
			out[e.Tenant] = true
		}
		return out
	}
	if all := tenantsIn(client.RequestFilter{Limit: 500}); !all["partner-a"] || !all["partner-b"] {
		t.Errorf("the operator's journal holds tenants %v, want both partners", all)
	}
	if onlyB := tenantsIn(client.RequestFilter{Tenant: "partner-b", Limit: 500}); len(onlyB) != 1 || !onlyB["partner-b"] {
		t.Errorf("the operator's journal of B holds tenants %v", onlyB)
	}

	// A stream outlives the request that opened it, not the token: the
	// tenant deleted, or its control token replaced, ends it, so a tenant
	// created again under the id is not followed by the old token.
	ends := func(name string, pc *client.Client, revoke func()) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		defer scancel()
		st, err := pc.Sandbox().Stream(sctx, client.StreamFilter{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		revoke()
		again := partnerAgain(t, ctx, operator, name)
		_, _ = again.Platform().ListApps(ctx, client.ListOptions{})
		for {
			ev, err := st.Next()
			if err != nil {
				if sctx.Err() != nil {
					t.Errorf("%s: the old token's stream was still open after 5 s", name)
				}
				return
			}
			if ev.Type == client.FrameRequest {
				var e client.RequestEntry
				_ = json.Unmarshal(ev.Data, &e)
				if e.Operation == "listApps" {
					t.Errorf("%s: the old token's stream followed the new tenant's request: %s", name, ev.Data)
				}
			}
		}
	}
	ends("partner-a", a, func() {
		if err := operator.Sandbox().DeleteTenant(ctx, "partner-a"); err != nil {
			t.Fatal(err)
		}
	})
	ends("partner-b", b, func() {
		if _, err := operator.Sandbox().RotateTenantToken(ctx, "partner-b", "control"); err != nil {
			t.Fatal(err)
		}
	})
}

// partnerAgain returns a client of tenant id with fresh tokens: the tenant
// created again when it was deleted, else its admin token replaced.
func partnerAgain(t *testing.T, ctx context.Context, operator *client.Client, id string) *client.Client {
	t.Helper()
	if c, err := operator.Sandbox().CreateTenant(ctx, client.TenantCreate{ID: id, Name: id}); err == nil {
		return operator.With(client.WithOperatorToken(c.ControlToken), client.WithToken(c.AdminToken))
	}
	tok, err := operator.Sandbox().RotateTenantToken(ctx, id, "admin")
	if err != nil {
		t.Fatal(err)
	}
	return operator.With(client.WithToken(tok.Token))
}
