package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
)

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
	receiver *httptest.Server
}

func newPartner(t *testing.T, ctx context.Context, operator *client.Client, id string) *partner {
	t.Helper()
	created, err := operator.Sandbox().CreateTenant(ctx, client.TenantCreate{ID: id, Name: "Partner " + id})
	if err != nil {
		t.Fatal(err)
	}
	p := &partner{id: id, admin: operator.With(client.WithOperatorToken(created.ControlToken), client.WithToken(created.AdminToken))}
	p.receiver = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		p.received.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(p.receiver.Close)
	if p.app, err = p.admin.Platform().CreateApp(ctx, client.AppCreate{Name: "Sync " + id, GrantTypes: []string{"client_credentials"},
		RequestedScopes: []string{"webhooks:read"}}); err != nil {
		t.Fatal(err)
	}
	p.token = p.mint(t, ctx, http.StatusOK)
	if _, err := p.admin.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: id, URL: p.receiver.URL,
		Events: []string{"case.updated"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}); err != nil {
		t.Fatal(err)
	}
	return p
}

// mint asks for a client-credentials token and checks the answer's status.
func (p *partner) mint(t *testing.T, ctx context.Context, want int) string {
	t.Helper()
	tok, err := p.admin.OAuth().ClientCredentials(ctx, p.app.Credentials(), "webhooks:read")
	if got := statusOf(err, http.StatusOK); got != want {
		t.Fatalf("%s: a token request answered %d (%v), want %d", p.id, got, err, want)
	}
	return tok.AccessToken
}

// tokenWorks reports whether the partner's token reads its webhooks.
func (p *partner) tokenWorks(t *testing.T, ctx context.Context, token string) bool {
	t.Helper()
	_, err := p.admin.With(client.WithToken(token)).Webhooks().List(ctx, client.ListOptions{})
	switch statusOf(err, http.StatusOK) {
	case http.StatusOK:
		return true
	case http.StatusUnauthorized:
		return false
	}
	t.Fatalf("%s: listing webhooks: %v", p.id, err)
	return false
}

// statusOf is the HTTP status of a client call: ok without an error.
func statusOf(err error, ok int) int {
	var e *client.Error
	switch {
	case err == nil:
		return ok
	case errors.As(err, &e):
		return e.Status
	}
	return 0
}

// TestTenantsCreatedAtRunTimeAreIsolated is the shared-sandbox sequence:
// two tenants created at run time, each with an app, a token and a
// receiver; one tenant's clock, fault rules, triggers, reset and deletion
// touch that tenant alone, and its control token cannot reach the other.
func TestTenantsCreatedAtRunTimeAreIsolated(t *testing.T) {
	ctx := context.Background()
	env := newSandboxConfig(t, emulator.Config{OperatorToken: "operator-secret", Loopback: true})
	operator := client.New(env.url, client.WithOperatorToken("operator-secret"))
	// A stopped clock: retries wait for a tenant's clock to move, not for
	// real time to pass.
	yes := true
	if _, err := operator.Sandbox().UpdateClock(ctx, client.ClockUpdate{Freeze: &yes}); err != nil {
		t.Fatal(err)
	}
	a, b := newPartner(t, ctx, operator, "partner-a"), newPartner(t, ctx, operator, "partner-b")

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
			_, err := a.admin.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: b.id, URL: a.receiver.URL,
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
		if st := statusOf(r.call(), http.StatusOK); st != http.StatusForbidden {
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
	if _, err := a.admin.Platform().ListApps(ctx, client.ListOptions{}); statusOf(err, 200) != http.StatusUnauthorized {
		t.Errorf("A's admin token after the delete: %v", err)
	}
	if _, err := a.admin.Sandbox().Clock(ctx); statusOf(err, 200) != http.StatusUnauthorized {
		t.Errorf("A's control token after the delete: %v", err)
	}
	if !b.tokenWorks(t, ctx, b.token) {
		t.Error("B's token stopped working when A was deleted")
	}
	if _, err := operator.Sandbox().Tenant(ctx, a.id); statusOf(err, 200) != http.StatusNotFound {
		t.Errorf("the deleted tenant: %v", err)
	}
}

// TestSelfReviewLetsATenantDecideItsOwnAccessRequests: deciding access
// requests is the operator's, unless the tenant was created with
// self_review; then its control token decides its own, and only its own.
func TestSelfReviewLetsATenantDecideItsOwnAccessRequests(t *testing.T) {
	ctx := context.Background()
	env := newSandbox(t) // open loopback sandbox: any other bearer is the operator
	operator := client.New(env.url, client.WithOperatorToken("anything"))
	tenant := func(id string, selfReview bool) (*client.Client, string) {
		t.Helper()
		c, err := operator.Sandbox().CreateTenant(ctx, client.TenantCreate{ID: id, Name: id, SelfReview: selfReview})
		if err != nil {
			t.Fatal(err)
		}
		pc := operator.With(client.WithOperatorToken(c.ControlToken), client.WithToken(c.AdminToken))
		ar, err := pc.Platform().CreateAccessRequest(ctx, client.AccessRequestCreate{Capability: "curated_graphql_bundles",
			UseCase: "Case sync needs the curated bundles."})
		if err != nil {
			t.Fatal(err)
		}
		return pc, ar.ID
	}
	reviewer, own := tenant("reviews-itself", true)
	plain, other := tenant("reviewed", false)
	approve := client.AccessDecisionRequest{Decision: "approve", Reason: "ok"}
	if _, err := plain.Sandbox().DecideAccessRequest(ctx, other, approve); statusOf(err, 200) != http.StatusForbidden {
		t.Errorf("a tenant without self_review decided its request: %v", err)
	}
	if _, err := reviewer.Sandbox().DecideAccessRequest(ctx, other, approve); statusOf(err, 200) != http.StatusNotFound {
		t.Errorf("a self-reviewing tenant decided another tenant's request: %v", err)
	}
	d, err := reviewer.Sandbox().DecideAccessRequest(ctx, own, approve)
	if err != nil || d.Status != "approved" || d.Tenant != "reviews-itself" {
		t.Errorf("a self-reviewing tenant's own decision = %+v, %v", d, err)
	}
	if _, err := operator.Sandbox().DecideAccessRequest(ctx, other, approve); err != nil {
		t.Errorf("the operator's decision: %v", err)
	}
}

// TestTenantFromATemplate: a tenant created from a fixture tenant starts
// with its policy, users and cases (same ids), and a reset, of the tenant
// or of the whole sandbox, gives them back.
func TestTenantFromATemplate(t *testing.T) {
	ctx := context.Background()
	env := newSandbox(t)
	operator := client.New(env.url, client.WithOperatorToken("operator"))
	created, err := operator.Sandbox().CreateTenant(ctx, client.TenantCreate{ID: "acme-copy", Name: "Acme copy", Template: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if created.Template != "acme" || len(created.Users) != 3 || !created.Policy.PublicClients {
		t.Errorf("created %+v, want acme's policy and users", created.Tenant)
	}
	if _, err := operator.Sandbox().CreateTenant(ctx, client.TenantCreate{Name: "x", Template: "nobody"}); statusOf(err, 201) != http.StatusBadRequest {
		t.Errorf("an unknown template: %v", err)
	}
	pc := operator.With(client.WithOperatorToken(created.ControlToken), client.WithToken(created.AdminToken))
	app, err := pc.Platform().CreateApp(ctx, client.AppCreate{Name: "Reader", GrantTypes: []string{"client_credentials"},
		RequestedScopes: []string{"cases:read", "cases:write"}})
	if err != nil {
		t.Fatal(err)
	}
	caseTitle := func() string {
		t.Helper()
		tok, err := pc.OAuth().ClientCredentials(ctx, app.Credentials(), "cases:read", "cases:write")
		if err != nil {
			t.Fatal(err)
		}
		var data struct {
			Case *struct{ Title string } `json:"case"`
		}
		if err := pc.With(client.WithToken(tok.AccessToken)).GraphQL().Do(ctx, client.GraphQLRequest{
			Query: `{ case(id: "case_acme_1001") { title } }`}, &data); err != nil || data.Case == nil {
			t.Fatalf("case_acme_1001 of the copy: %+v, %v", data.Case, err)
		}
		return data.Case.Title
	}
	want := caseTitle()
	tok, _ := pc.OAuth().ClientCredentials(ctx, app.Credentials(), "cases:write")
	if err := pc.With(client.WithToken(tok.AccessToken)).GraphQL().Do(ctx, client.GraphQLRequest{
		Query: `mutation { updateCase(id: "case_acme_1001", input: {title: "Changed in the copy"}) { id } }`}, nil); err != nil {
		t.Fatal(err)
	}
	if got := caseTitle(); got != "Changed in the copy" {
		t.Fatalf("the copy's case after the update: %q", got)
	}
	if _, err := operator.Sandbox().Reset(ctx, true); err != nil {
		t.Fatal(err)
	}
	if got := caseTitle(); got != want {
		t.Errorf("the copy's case after the sandbox's reset: %q, want %q", got, want)
	}
}

// TestATenantsIdleWaitIgnoresAnotherTenantsSlowEndpoint: a control
// token's GET /_sandbox/webhooks/idle waits for its tenant's deliveries
// alone, so another tenant's hung endpoint does not stall it; the
// operator's wait covers everything and does.
func TestATenantsIdleWaitIgnoresAnotherTenantsSlowEndpoint(t *testing.T) {
	ctx := context.Background()
	env := newSandbox(t)
	operator := client.New(env.url, client.WithOperatorToken("operator"))
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hung.Close() })
	quick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	t.Cleanup(quick.Close)
	tenant := func(id, url string) *client.Client {
		t.Helper()
		c, err := operator.Sandbox().CreateTenant(ctx, client.TenantCreate{ID: id, Name: id})
		if err != nil {
			t.Fatal(err)
		}
		pc := operator.With(client.WithOperatorToken(c.ControlToken))
		if _, err := pc.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: id, URL: url, Events: []string{"case.updated"},
			Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}); err != nil {
			t.Fatal(err)
		}
		if _, err := pc.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: id, Topic: "case.updated", Synthetic: true}); err != nil {
			t.Fatal(err)
		}
		return pc
	}
	tenant("slow-one", hung.URL)
	fast := tenant("fast-one", quick.URL)
	if st, err := fast.Sandbox().Idle(ctx, 5*time.Second); err != nil || !st.Idle {
		t.Errorf("the fast tenant's idle wait = %+v, %v; want idle", st, err)
	}
	if st, err := operator.Sandbox().Idle(ctx, 200*time.Millisecond); err != nil || st.Idle {
		t.Errorf("the operator's idle wait = %+v, %v; want not idle while an attempt hangs", st, err)
	}
}
