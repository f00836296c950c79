// Package tenantcheck is the shared-sandbox isolation sequence, run
// against a sandbox in this process and against the container image alike:
// two tenants created at run time, each with an app, a token and a
// receiver; one tenant's clock, fault rules, triggers, reset and deletion
// touch that tenant alone, and its control token cannot reach the other.
package tenantcheck

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

// Receivers starts a webhook receiver the sandbox can reach and returns its
// URL; the receiver stops when the test ends.
type Receivers func(t *testing.T, h http.Handler) string

// partner is one tenant created at run time, as its partner drives it:
// the admin token on the platform APIs, the control token on the control
// plane, an app's token on the resource APIs, and a receiver that answers
// 500 to every delivery and counts them.
type partner struct {
	id       string
	admin    *client.Client // the tenant's admin and control tokens
	app      client.AppWithSecret
	token    string
	received atomic.Int32
	receiver string
}

func newPartner(t *testing.T, ctx context.Context, operator *client.Client, receivers Receivers, id string) *partner {
	t.Helper()
	created, err := operator.Sandbox().CreateTenant(ctx, client.TenantCreate{ID: id, Name: "Partner " + id})
	if err != nil {
		t.Fatal(err)
	}
	p := &partner{id: id, admin: operator.With(client.WithOperatorToken(created.ControlToken), client.WithToken(created.AdminToken))}
	p.receiver = receivers(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.received.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	if p.app, err = p.admin.Platform().CreateApp(ctx, client.AppCreate{Name: "Sync " + id, GrantTypes: []string{"client_credentials"},
		RequestedScopes: []string{"webhooks:read"}}); err != nil {
		t.Fatal(err)
	}
	p.token = p.mint(t, ctx, http.StatusOK)
	if _, err := p.admin.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: id, URL: p.receiver,
		Events: []string{"case.updated"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}); err != nil {
		t.Fatal(err)
	}
	return p
}

// mint asks for a client-credentials token and checks the answer's status.
func (p *partner) mint(t *testing.T, ctx context.Context, want int) string {
	t.Helper()
	tok, err := p.admin.OAuth().ClientCredentials(ctx, p.app.Credentials(), "webhooks:read")
	if got := Status(err, http.StatusOK); got != want {
		t.Fatalf("%s: a token request answered %d (%v), want %d", p.id, got, err, want)
	}
	return tok.AccessToken
}

// tokenWorks reports whether the partner's token reads its webhooks.
func (p *partner) tokenWorks(t *testing.T, ctx context.Context, token string) bool {
	t.Helper()
	_, err := p.admin.With(client.WithToken(token)).Webhooks().List(ctx, client.ListOptions{})
	switch Status(err, http.StatusOK) {
	case http.StatusOK:
		return true
	case http.StatusUnauthorized:
		return false
	}
	t.Fatalf("%s: listing webhooks: %v", p.id, err)
	return false
}

// Status is the HTTP status of a client call: ok without an error.
func Status(err error, ok int) int {
	var e *client.Error
	switch {
	case err == nil:
		return ok
	case errors.As(err, &e):
		return e.Status
	}
	return 0
}

// Run is the sequence, driven through operator (a client with the
// operator token) on a sandbox whose clock it freezes; receivers start the
// partners' webhook receivers.
func Run(t *testing.T, operator *client.Client, receivers Receivers) {
	ctx := context.Background()
	// A stopped clock: retries wait for a tenant's clock to move, not for
	// real time to pass.
	yes := true
	if _, err := operator.Sandbox().UpdateClock(ctx, client.ClockUpdate{Freeze: &yes}); err != nil {
		t.Fatal(err)
	}
	a, b := newPartner(t, ctx, operator, receivers, "partner-a"), newPartner(t, ctx, operator, receivers, "partner-b")

	// A's trigger reaches A's receiver alone; then B's reaches B's.
	trigger := func(p *partner) {
		t.Helper()
		if _, err := p.admin.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: p.id, Topic: "case.updated", Synthetic: true}); err != nil {
			t.Fatal(err)
		}
		if err := operator.Sandbox().WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
	}
	trigger(a)
	if a.received.Load() != 1 || b.received.Load() != 0 {
		t.Fatalf("after A's trigger: A received %d, B %d; want 1 and 0", a.received.Load(), b.received.Load())
	}
	trigger(b)
	if a.received.Load() != 1 || b.received.Load() != 1 {
		t.Fatalf("after B's trigger: A received %d, B %d; want 1 and 1", a.received.Load(), b.received.Load())
	}

	// A's control token on B's resources is refused.
	refused := []struct {
		name string
		call func() error
	}{
		{"B's clock", func() error { _, err := a.admin.Sandbox().TenantClock(ctx, b.id); return err }},
		{"moving B's clock", func() error {
			adv := client.Duration(time.Hour)
			_, err := a.admin.Sandbox().UpdateClock(ctx, client.ClockUpdate{Advance: &adv, Tenant: b.id})
			return err
		}},
		{"B's reset", func() error { _, err := a.admin.Sandbox().ResetTenant(ctx, b.id, false); return err }},
		{"B's tenant", func() error { _, err := a.admin.Sandbox().Tenant(ctx, b.id); return err }},
		{"B's events", func() error {
			_, err := a.admin.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: b.id, Topic: "case.updated", Synthetic: true})
			return err
		}},
		{"a webhook of B", func() error {
			_, err := a.admin.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: b.id, URL: a.receiver,
				Events: []string{"case.updated"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
			return err
		}},
		{"a fault rule for B", func() error {
			_, err := a.admin.Sandbox().AddFault(ctx, client.FaultRule{Name: "b-outage", Match: client.FaultMatch{Tenant: b.id},
				Action: client.FaultAction{Error: &client.FaultErrorReply{Status: 503}}})
			return err
		}},
		{"B's requests", func() error {
			_, err := a.admin.Sandbox().Requests(ctx, client.RequestFilter{Tenant: b.id})
			return err
		}},
		{"creating a tenant", func() error {
			_, err := a.admin.Sandbox().CreateTenant(ctx, client.TenantCreate{Name: "Mine"})
			return err
		}},
		{"deleting B", func() error { return a.admin.Sandbox().DeleteTenant(ctx, b.id) }},
		{"rotating the signing key", func() error {
			_, err := a.admin.Sandbox().RotateKeys(ctx, client.KeyRotationRequest{})
			return err
		}},
	}
	for _, r := range refused {
		if st := Status(r.call(), http.StatusOK); st != http.StatusForbidden {
			t.Errorf("A's control token on %s: %d, want 403", r.name, st)
		}
	}

	// A's clock two hours on: A's token expires and A's retries run; B's
	// token still works and B's retries wait.
	adv := client.Duration(2 * time.Hour)
	st, err := a.admin.Sandbox().UpdateClock(ctx, client.ClockUpdate{Advance: &adv})
	if err != nil {
		t.Fatal(err)
	}
	if st.Tenant != a.id {
		t.Errorf("A's clock update answered for %q", st.Tenant)
	}
	if err := operator.Sandbox().WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if a.tokenWorks(t, ctx, a.token) {
		t.Error("A's token still works two hours later on A's clock")
	}
	if !b.tokenWorks(t, ctx, b.token) {
		t.Error("B's token stopped working when A's clock moved")
	}
	if got := a.received.Load(); got < 3 {
		t.Errorf("A's receiver got %d attempts after A's clock moved 2h, want the retries too (at least 3)", got)
	}
	if got := b.received.Load(); got != 1 {
		t.Errorf("B's receiver got %d attempts, want 1: B's retries wait for B's clock", got)
	}
	aClock, _ := operator.Sandbox().TenantClock(ctx, a.id)
	bClock, _ := operator.Sandbox().TenantClock(ctx, b.id)
	if d := aClock.Now.Sub(bClock.Now); d != 2*time.Hour {
		t.Errorf("A's clock is %s ahead of B's, want 2h", d)
	}

	// A's fault rule (503 on the token endpoint) leaves B's token
	// requests alone.
	if _, err := a.admin.Sandbox().AddFault(ctx, client.FaultRule{Name: "a-token-outage", Match: client.FaultMatch{Operation: "token"},
		Action: client.FaultAction{Error: &client.FaultErrorReply{Status: 503}}}); err != nil {
		t.Fatal(err)
	}
	a.mint(t, ctx, http.StatusServiceUnavailable)
	b.token = b.mint(t, ctx, http.StatusOK)
	if rules, err := b.admin.Sandbox().Faults(ctx); err != nil || len(rules) != 0 {
		t.Errorf("B's control token sees rules %+v (%v), want none", rules, err)
	}

	// A's reset: A's apps, webhooks and rules go and its clock returns;
	// B keeps everything.
	if _, err := a.admin.Sandbox().ResetTenant(ctx, "", false); err != nil {
		t.Fatal(err)
	}
	if apps, err := a.admin.Platform().ListApps(ctx, client.ListOptions{}); err != nil || len(apps.Data) != 0 {
		t.Errorf("A's apps after A's reset: %+v, %v", apps.Data, err)
	}
	if apps, err := b.admin.Platform().ListApps(ctx, client.ListOptions{}); err != nil || len(apps.Data) != 1 {
		t.Errorf("B's apps after A's reset: %+v, %v", apps.Data, err)
	}
	if rules, _ := operator.Sandbox().Faults(ctx); len(rules) != 0 {
		t.Errorf("A's fault rule outlived A's reset: %+v", rules)
	}
	if c, _ := a.admin.Sandbox().Clock(ctx); c.Offset.String() == (2*time.Hour).String() || c.Tenant != a.id {
		t.Errorf("A's clock after A's reset: %+v", c)
	}
	trigger(b)
	if got := b.received.Load(); got != 2 {
		t.Errorf("B's subscription after A's reset: %d attempts, want 2", got)
	}

	// Deleting A stops A's fresh token at once; its admin and control
	// tokens answer 401; B is untouched.
	if a.app, err = a.admin.Platform().CreateApp(ctx, client.AppCreate{Name: "Again", GrantTypes: []string{"client_credentials"},
		RequestedScopes: []string{"webhooks:read"}}); err != nil {
		t.Fatal(err)
	}
	fresh := a.mint(t, ctx, http.StatusOK)
	if !a.tokenWorks(t, ctx, fresh) {
		t.Fatal("A's fresh token does not work")
	}
	if err := operator.Sandbox().DeleteTenant(ctx, a.id); err != nil {
		t.Fatal(err)
	}
	if a.tokenWorks(t, ctx, fresh) {
		t.Error("A's token still works after A was deleted")
	}
	if _, err := a.admin.Platform().ListApps(ctx, client.ListOptions{}); Status(err, 200) != http.StatusUnauthorized {
		t.Errorf("A's admin token after the delete: %v", err)
	}
	if _, err := a.admin.Sandbox().Clock(ctx); Status(err, 200) != http.StatusUnauthorized {
		t.Errorf("A's control token after the delete: %v", err)
	}
	if !b.tokenWorks(t, ctx, b.token) {
		t.Error("B's token stopped working when A was deleted")
	}
	if _, err := operator.Sandbox().Tenant(ctx, a.id); Status(err, 200) != http.StatusNotFound {
		t.Errorf("the deleted tenant: %v", err)
	}
}
