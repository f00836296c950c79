package emulator_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/internal/pgtest"
	"github.com/knogin/argus-sandbox/internal/tenantcheck"
)

// TestTenantsCreatedAtRunTimeAreIsolated runs the shared-sandbox sequence
// (internal/tenantcheck) against a sandbox in this process.
func TestTenantsCreatedAtRunTimeAreIsolated(t *testing.T) {
	runTenantCheck(t, emulator.Config{OperatorToken: "operator-secret", Loopback: true})
}

// TestTenantsAreIsolatedInEveryStore runs the same sequence on the durable
// stores: isolation is the stores' as much as the surfaces'.
func TestTenantsAreIsolatedInEveryStore(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		runTenantCheck(t, emulator.Config{OperatorToken: "operator-secret", Loopback: true, DataDir: t.TempDir()})
	})
	t.Run("postgres", func(t *testing.T) {
		runTenantCheck(t, emulator.Config{OperatorToken: "operator-secret", Loopback: true, DatabaseURL: pgtest.Database(t)})
	})
}

func runTenantCheck(t *testing.T, cfg emulator.Config) {
	t.Helper()
	env := newSandboxConfig(t, cfg)
	tenantcheck.Run(t, client.New(env.url, client.WithOperatorToken("operator-secret")), func(t *testing.T, h http.Handler) string {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv.URL
	})
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
	if _, err := plain.Sandbox().DecideAccessRequest(ctx, other, approve); tenantcheck.Status(err, 200) != http.StatusForbidden {
		t.Errorf("a tenant without self_review decided its request: %v", err)
	}
	if _, err := reviewer.Sandbox().DecideAccessRequest(ctx, other, approve); tenantcheck.Status(err, 200) != http.StatusNotFound {
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
	if _, err := operator.Sandbox().CreateTenant(ctx, client.TenantCreate{Name: "x", Template: "nobody"}); tenantcheck.Status(err, 201) != http.StatusBadRequest {
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
	if st, err := operator.Sandbox().TenantIdle(ctx, "fast-one", 5*time.Second); err != nil || !st.Idle {
		t.Errorf("the operator's idle wait for the fast tenant = %+v, %v; want idle", st, err)
	}
	if st, err := operator.Sandbox().TenantIdle(ctx, "slow-one", 200*time.Millisecond); err != nil || st.Idle {
		t.Errorf("the operator's idle wait for the slow tenant = %+v, %v; want not idle", st, err)
	}
	if _, err := operator.Sandbox().TenantIdle(ctx, "nobody-here", time.Second); tenantcheck.Status(err, 200) != http.StatusNotFound {
		t.Errorf("the operator's idle wait for an unknown tenant: %v, want 404", err)
	}
	if _, err := fast.Sandbox().TenantIdle(ctx, "slow-one", time.Second); tenantcheck.Status(err, 200) != http.StatusForbidden {
		t.Errorf("a control token's idle wait for another tenant: %v, want 403", err)
	}
}

// TestDiscoveryListsTheClaimsOfEveryTenantsUsers: claims_supported names
// the custom claims of the users of tenants created at run time too.
func TestDiscoveryListsTheClaimsOfEveryTenantsUsers(t *testing.T) {
	ctx := context.Background()
	env := newSandbox(t)
	if _, err := env.sb.Tenants().Create(ctx, tenants.Spec{ID: "claims-co", Name: "Claims Co", Users: []fixtures.User{{
		ID: "usr_claims_1", Email: "ann@claims.example", Name: "Ann", Claims: map[string]any{"cost_center": "ops-7"}}}}); err != nil {
		t.Fatal(err)
	}
	md, err := client.New(env.url).OAuth().Metadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(md.ClaimsSupported, "cost_center") || !slices.Contains(md.ClaimsSupported, "roles") {
		t.Errorf("claims_supported %v, want the runtime tenant's cost_center and the fixtures' roles", md.ClaimsSupported)
	}
}
