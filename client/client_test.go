package client_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/specs"
)

// injected matches the spec mismatches a fault rule causes on purpose: an
// error status the operation does not document, as a gateway answers.
var injected = regexp.MustCompile(`→ (429|5\d\d): status is not supported`)

// recorder notes every request answered 2xx, to find the operations the
// test reached through the client.
type recorder struct {
	mu   sync.Mutex
	seen []string // "METHOD /path"
}

func (rec *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && resp.StatusCode < 300 {
		rec.mu.Lock()
		rec.seen = append(rec.seen, r.Method+" "+r.URL.Path)
		rec.mu.Unlock()
	}
	return resp, err
}

// startSandbox serves a sandbox protected by an operator token, as one
// beyond loopback is, checking every response against the specs.
func startSandbox(t *testing.T) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	sb, err := emulator.New(emulator.Config{Issuer: base, OperatorToken: "op-client", Seed: 3,
		CheckResponse: func(r *http.Request, op string, err error) {
			if !injected.MatchString(err.Error()) {
				t.Errorf("%s: the sandbox's response does not match the spec: %v", op, err)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return base
}

// status returns the HTTP status of an *Error (0 for none).
func status(err error) (int, string) {
	var e *client.Error
	if !errors.As(err, &e) {
		return 0, ""
	}
	return e.Status, e.Code
}

// TestEveryOperation drives a real sandbox through every client method and
// checks that together they reached every operation of the specs the
// client covers.
func TestEveryOperation(t *testing.T) {
	ctx := context.Background()
	base := startSandbox(t)
	rec := &recorder{}
	hc := &http.Client{Transport: rec, Timeout: time.Minute}
	c := client.New(base, client.WithHTTPClient(hc), client.WithOperatorToken("op-client"), client.WithToken("sandbox_admin_acme"))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	deliveries := make(chan *http.Request, 100)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deliveries <- r
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(receiver.Close)

	t.Run("sandbox", func(t *testing.T) {
		h, err := c.Sandbox().Health(ctx)
		must(err)
		if h.Status != "ok" || h.Time.IsZero() {
			t.Errorf("health %+v", h)
		}
		spec, err := c.Sandbox().SpecFile(ctx, "faults.schema.json")
		must(err)
		if !strings.Contains(string(spec), `"$defs"`) {
			t.Errorf("faults.schema.json: %.80s", spec)
		}
		if _, err := c.Sandbox().SpecFile(ctx, "missing.yaml"); !is(err, 404, "not_found") {
			t.Errorf("missing spec: %v", err)
		}
		if _, err := c.With(client.WithOperatorToken("")).Sandbox().Clock(ctx); !is(err, 401, "unauthorized") {
			t.Errorf("control plane without the operator token: %v", err)
		}
		yes := true
		frozen, err := c.Sandbox().UpdateClock(ctx, client.ClockUpdate{Freeze: &yes})
		must(err)
		moved, err := c.Sandbox().AdvanceClock(ctx, 90*time.Minute)
		must(err)
		if !frozen.Frozen || moved.Now.Sub(frozen.Now) != 90*time.Minute {
			t.Errorf("frozen at %s, advanced to %s", frozen.Now, moved.Now)
		}
		if _, err := c.Sandbox().AdvanceClock(ctx, -time.Second); !is(err, 400, "invalid_request") {
			t.Errorf("moving the clock back: %v", err)
		}
		reset, err := c.Sandbox().ResetClock(ctx)
		must(err)
		now, err := c.Sandbox().Clock(ctx)
		must(err)
		if reset.Frozen || now.Offset != 0 || time.Since(now.Now).Abs() > time.Minute {
			t.Errorf("after reset: %+v", now)
		}
		kr, err := c.Sandbox().RotateKeys(ctx, client.KeyRotationRequest{StaleJWKS: client.Duration(30 * time.Second)})
		must(err)
		if kr.KID == "" || kr.StaleJWKSUntil == nil {
			t.Errorf("rotation %+v", kr)
		}
	})

	var app client.AppWithSecret
	t.Run("platform", func(t *testing.T) {
		var err error
		app, err = c.Platform().CreateApp(ctx, client.AppCreate{Name: "Case sync connector",
			GrantTypes:      []string{"client_credentials", "authorization_code", "refresh_token"},
			RedirectURIs:    []string{"http://127.0.0.1:8400/callback"},
			RequestedScopes: []string{"cases:read", "webhooks:read", "webhooks:write"}})
		must(err)
		if app.ClientSecret == "" || app.Status != "active" || len(app.ApprovedScopes) != 3 {
			t.Errorf("created %+v", app)
		}
		page, err := c.Platform().ListApps(ctx, client.ListOptions{Limit: 10})
		must(err)
		if len(page.Data) != 1 || page.Data[0].ID != app.ID || page.NextCursor != nil {
			t.Errorf("list %+v", page)
		}
		got, err := c.Platform().GetApp(ctx, app.ID)
		must(err)
		if got.ClientID != app.ClientID {
			t.Errorf("get %+v", got)
		}
		renamed, err := c.Platform().UpdateApp(ctx, app.ID, client.AppUpdate{Name: "Case sync (production)"})
		must(err)
		if renamed.Name != "Case sync (production)" || len(renamed.RedirectURIs) != 1 {
			t.Errorf("update %+v", renamed)
		}
		if _, err := c.Platform().GetApp(ctx, "app_00000000000000000000"); !is(err, 404, "not_found") {
			t.Errorf("unknown app: %v", err)
		}

		// Governance happens in globex, whose policy leaves users:read to review.
		globex := c.With(client.WithToken("sandbox_admin_globex"))
		pending, err := globex.Platform().CreateApp(ctx, client.AppCreate{Name: "Directory sync",
			GrantTypes: []string{"client_credentials"}, RequestedScopes: []string{"cases:read", "users:read"}})
		must(err)
		reviewed, err := globex.Platform().ReviewApp(ctx, pending.ID, client.Review{Approve: &client.ReviewItems{Scopes: []string{"users:read"}}})
		must(err)
		if pending.Status != "pending_review" || reviewed.Status != "active" {
			t.Errorf("review: %s → %s", pending.Status, reviewed.Status)
		}
		must(globex.Platform().DeleteApp(ctx, pending.ID))
		if _, err := globex.OAuth().ClientCredentials(ctx, pending.Credentials()); !is(err, 401, "invalid_client") {
			t.Errorf("a deleted app's credentials: %v", err)
		}

		hour := 3600
		rotated, err := c.Platform().RotateSecret(ctx, app.ID, client.SecretRotation{GracePeriodSeconds: &hour})
		must(err)
		secrets, err := c.Platform().ListSecrets(ctx, app.ID)
		must(err)
		if rotated.ClientSecret == "" || len(secrets) != 2 || len(rotated.Secrets) != 2 {
			t.Errorf("rotation %+v, secrets %+v", rotated, secrets)
		}
		app.ClientSecret = rotated.ClientSecret

		minted, err := c.Platform().CreateServiceToken(ctx, app.ID, client.ServiceTokenCreate{Scopes: []string{"webhooks:read"},
			TTLSeconds: 3600, Description: "Nightly export"})
		must(err)
		tokens, err := c.Platform().ListServiceTokens(ctx, app.ID)
		must(err)
		must(c.Platform().RevokeServiceToken(ctx, app.ID, minted.ID))
		if minted.AccessToken == "" || minted.TokenType != "Bearer" || len(tokens) != 1 || tokens[0].ID != minted.ID {
			t.Errorf("minted %+v, listed %+v", minted, tokens)
		}
		if _, err := c.With(client.WithToken(minted.AccessToken)).Webhooks().List(ctx, client.ListOptions{}); !is(err, 401, "invalid_token") {
			t.Errorf("a revoked service token: %v", err)
		}

		scopes, err := c.Platform().Scopes(ctx)
		must(err)
		if !slices.ContainsFunc(scopes, func(s client.ScopeInfo) bool { return s.Name == "cases:read" && s.Approved }) {
			t.Errorf("scopes %+v", scopes)
		}
		audit, err := c.Platform().AuditEvents(ctx, client.AuditFilter{Target: app.ID})
		must(err)
		if len(audit.Data) == 0 || audit.Data[0].Action != "app.created" {
			t.Errorf("audit %+v", audit)
		}

		areq, err := c.Platform().CreateAccessRequest(ctx, client.AccessRequestCreate{Capability: "curated_graphql_bundles",
			UseCase: "Merge duplicate cases reported by our intake connector.", RequestedScopes: []string{"graphql:bundles"}})
		must(err)
		decision, err := c.Sandbox().DecideAccessRequest(ctx, areq.ID, client.AccessDecisionRequest{Decision: "approve", Reason: "Partner program."})
		must(err)
		all, err := c.Platform().ListAccessRequests(ctx)
		must(err)
		one, err := c.Platform().GetAccessRequest(ctx, areq.ID)
		must(err)
		if decision.Status != "approved" || len(all) != 1 || one.Status != "approved" || one.DecidedAt == nil {
			t.Errorf("access request %+v, decision %+v, list %+v", one, decision, all)
		}

		// The partner surfaces open once the tenant's capability is approved.
		if _, err := c.Platform().ExportAuditEvents(ctx, client.AuditExportFilter{}); !is(err, 403, "review_required") {
			t.Errorf("export before approval: %v", err)
		}
		for _, capability := range []string{"advanced_platform_apis", "environment_onboarding", "federation"} {
			areq, err := c.Platform().CreateAccessRequest(ctx, client.AccessRequestCreate{Capability: capability,
				UseCase: "Rehearse the partner workflow before go-live."})
			must(err)
			_, err = c.Sandbox().DecideAccessRequest(ctx, areq.ID, client.AccessDecisionRequest{Decision: "approve", Reason: "Partner program."})
			must(err)
		}
		policy, err := c.Platform().Policy(ctx)
		must(err)
		if policy.Tenant != "acme" || policy.PartnerScopes["audit:export"] != "advanced_platform_apis" ||
			policy.Limits.EnvironmentsPerTenant == 0 || len(policy.Capabilities) != 4 {
			t.Errorf("policy %+v", policy)
		}
		for _, cs := range policy.Capabilities {
			if cs.Status != "approved" {
				t.Errorf("capability %s is %s after approval", cs.Capability, cs.Status)
			}
		}

		trail, err := c.Platform().AuditEvents(ctx, client.AuditFilter{ListOptions: client.ListOptions{Limit: 100}})
		must(err)
		exported, err := c.Platform().ExportAuditEvents(ctx, client.AuditExportFilter{})
		must(err)
		if len(exported) != len(trail.Data) || len(exported) == 0 || exported[0].ID != trail.Data[0].ID ||
			exported[len(exported)-1].Action != trail.Data[len(trail.Data)-1].Action {
			t.Errorf("export of %d events, trail of %d: %+v", len(exported), len(trail.Data), exported)
		}
		before, err := c.Platform().ExportAuditEvents(ctx, client.AuditExportFilter{Until: exported[0].OccurredAt})
		must(err)
		if len(before) != 0 {
			t.Errorf("export until the first event: %+v", before)
		}

		env, err := c.Platform().CreateEnvironment(ctx, client.EnvironmentCreate{Name: "Sovereign EU staging", Region: "eu-central"})
		must(err)
		envs, err := c.Platform().ListEnvironments(ctx)
		must(err)
		if env.Status != "provisioning" || env.ReadyAt.Sub(env.CreatedAt) != 30*time.Second || len(envs) != 1 || envs[0].ID != env.ID {
			t.Errorf("environment %+v, list %+v", env, envs)
		}
		_, err = c.Sandbox().AdvanceClock(ctx, 30*time.Second)
		must(err)
		if got, err := c.Platform().GetEnvironment(ctx, env.ID); err != nil || got.Status != "ready" {
			t.Errorf("environment 30 s later: %+v, %v", got, err)
		}

		fed, err := c.Platform().FederationMetadata(ctx)
		must(err)
		if fed.Tenant != "acme" || fed.Issuer != base || fed.JWKSURI != base+"/.well-known/jwks.json" || fed.TokenExchangeSupported {
			t.Errorf("federation metadata %+v", fed)
		}
	})

	var access client.Token
	t.Run("oauth", func(t *testing.T) {
		creds := app.Credentials()
		var err error
		access, err = c.OAuth().ClientCredentials(ctx, creds, "cases:read", "webhooks:read", "webhooks:write")
		must(err)
		if access.TokenType != "Bearer" || access.ExpiresIn != 3600 || access.Scope != "cases:read webhooks:read webhooks:write" {
			t.Errorf("token %+v", access)
		}
		if _, err := c.OAuth().ClientCredentials(ctx, client.Credentials{ClientID: creds.ClientID, ClientSecret: "wrong"}); !is(err, 401, "invalid_client") {
			t.Errorf("wrong secret: %v", err)
		}
		if _, err := c.OAuth().ClientCredentials(ctx, creds, "users:read"); !is(err, 400, "invalid_scope") {
			t.Errorf("unapproved scope: %v", err)
		}

		code := authorize(t, hc, base, creds.ClientID, "cases:read")
		const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
		user, err := c.OAuth().ExchangeCode(ctx, creds, code, "http://127.0.0.1:8400/callback", verifier)
		must(err)
		if _, err := c.OAuth().UserInfo(ctx, user.AccessToken); !is(err, 403, "insufficient_scope") {
			t.Errorf("userinfo without openid: %v", err)
		}
		code = authorize(t, hc, base, creds.ClientID, "openid", "email", "cases:read")
		signedIn, err := c.OAuth().ExchangeCode(ctx, creds, code, "http://127.0.0.1:8400/callback", verifier)
		must(err)
		claims, err := c.OAuth().UserInfo(ctx, signedIn.AccessToken)
		must(err)
		posted, err := c.OAuth().UserInfoPost(ctx, signedIn.AccessToken)
		must(err)
		if idSub := jwtSubject(t, signedIn.IDToken); claims.Sub == "" || claims.Sub != idSub || claims.Email != "alice@acme.example" ||
			!claims.EmailVerified || claims.Claims["sub"] != claims.Sub || posted.Sub != claims.Sub {
			t.Errorf("userinfo %+v (POST %+v), ID token's sub %q", claims, posted, idSub)
		}
		if _, err := c.OAuth().UserInfo(ctx, access.AccessToken); !is(err, 403, "insufficient_scope") {
			t.Errorf("userinfo with an app's own token: %v", err)
		}

		// A public client has no secret: it sends its client_id alone and
		// proves the code with PKCE (RFC 6749 §2.3, RFC 7636).
		public, err := c.Platform().CreateApp(ctx, client.AppCreate{Name: "Case viewer (desktop)",
			GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectURIs: []string{"http://127.0.0.1:8400/callback"},
			TokenEndpointAuthMethod: "none"})
		must(err)
		if public.TokenEndpointAuthMethod != "none" || public.ClientSecret != "" {
			t.Errorf("public client %+v", public)
		}
		code = authorize(t, hc, base, public.ClientID, "openid")
		viewer, err := c.OAuth().ExchangeCode(ctx, public.Credentials(), code, "http://127.0.0.1:8400/callback", verifier)
		must(err)
		if viewer.IDToken == "" || jwtSubject(t, viewer.IDToken) != claims.Sub {
			t.Errorf("a public client's tokens %+v", viewer)
		}
		if _, err := c.OAuth().Refresh(ctx, public.Credentials(), viewer.RefreshToken); err != nil {
			t.Errorf("a public client's refresh: %v", err)
		}
		if _, err := c.OAuth().Introspect(ctx, public.Credentials(), viewer.AccessToken); !is(err, 401, "invalid_client") {
			t.Errorf("introspection by a public client: %v", err)
		}
		refreshed, err := c.OAuth().Refresh(ctx, creds, user.RefreshToken)
		must(err)
		if user.RefreshToken == "" || refreshed.RefreshToken == "" || refreshed.RefreshToken == user.RefreshToken {
			t.Errorf("code exchange %+v, refresh %+v", user, refreshed)
		}

		info, err := c.OAuth().Introspect(ctx, creds, refreshed.AccessToken)
		must(err)
		if !info.Active || info.ClientID != creds.ClientID || info.Tenant != "acme" || len(info.Aud) == 0 {
			t.Errorf("introspection %+v", info)
		}
		must(c.OAuth().Revoke(ctx, creds, refreshed.AccessToken, "access_token"))
		if info, err := c.OAuth().Introspect(ctx, creds, refreshed.AccessToken); err != nil || info.Active {
			t.Errorf("introspection after revocation: %+v, %v", info, err)
		}

		keys, err := c.OAuth().JWKS(ctx)
		must(err)
		meta, err := c.OAuth().Metadata(ctx)
		must(err)
		if len(keys.Keys) == 0 || meta.Issuer != base || meta.TokenEndpoint != base+"/v1/oauth/token" {
			t.Errorf("keys %+v, metadata %+v", keys, meta)
		}
	})

	t.Run("webhooks", func(t *testing.T) {
		w := c.With(client.WithToken(access.AccessToken)).Webhooks()
		hook, err := w.Create(ctx, client.WebhookCreate{URL: receiver.URL + "/hook", Events: []string{"case.updated"}})
		must(err)
		if _, err := client.WebhookSecretKey(hook.Secret); err != nil || hook.Status != "enabled" {
			t.Errorf("created %+v: %v", hook, err)
		}
		page, err := w.List(ctx, client.ListOptions{})
		must(err)
		got, err := w.Get(ctx, hook.ID)
		must(err)
		note := "Case sync"
		updated, err := w.Update(ctx, hook.ID, client.WebhookUpdate{Description: &note, Events: []string{"case.updated", "case.closed"}})
		must(err)
		if len(page.Data) != 1 || got.URL != hook.URL || updated.Description != note || len(updated.Events) != 2 {
			t.Errorf("list %+v, get %+v, update %+v", page, got, updated)
		}
		minute := 60
		rotated, err := w.RotateSecret(ctx, hook.ID, client.WebhookSecretRotation{PreviousSecretExpiresIn: &minute})
		must(err)
		if rotated.Secret == hook.Secret || rotated.PreviousSecretExpiresAt == nil {
			t.Errorf("rotation %+v", rotated)
		}
		test, err := w.Test(ctx, hook.ID)
		must(err)
		<-deliveries
		if !test.Success || test.Attempt == nil || test.Attempt.ResponseStatus == nil || *test.Attempt.ResponseStatus != 204 {
			t.Errorf("test %+v", test)
		}
		types, err := w.EventTypes(ctx)
		must(err)
		if !slices.ContainsFunc(types, func(e client.EventType) bool { return e.Type == "case.updated" && e.Schema != nil }) {
			t.Errorf("event types %+v", types)
		}
		listed, err := w.Deliveries(ctx, hook.ID, client.DeliveryFilter{Status: client.DeliverySucceeded, EventType: "webhook.test"})
		must(err)
		if len(listed.Data) != 1 || listed.Data[0].ID != test.DeliveryID || listed.Data[0].LastAttempt == nil {
			t.Fatalf("deliveries %+v", listed)
		}
		d, err := w.Delivery(ctx, hook.ID, test.DeliveryID)
		must(err)
		again, err := w.Redeliver(ctx, hook.ID, test.DeliveryID)
		must(err)
		<-deliveries
		rec, err := w.Recover(ctx, hook.ID, client.RecoverRequest{Since: d.CreatedAt.Add(-time.Minute)})
		must(err)
		if rec.WebhookID != hook.ID || rec.RecoveryID == "" || rec.Deliveries != 0 {
			t.Errorf("recovery of a webhook with no failed delivery: %+v", rec)
		}
		if d.Event.ID != test.EventID || d.Event.Type != "webhook.test" || len(d.Attempts) != 1 || again.ID != d.ID {
			t.Errorf("delivery %+v, redelivery %+v", d, again)
		}
		must(w.Delete(ctx, hook.ID))
		if _, err := w.Get(ctx, hook.ID); !is(err, 404, "not_found") {
			t.Errorf("deleted webhook: %v", err)
		}
	})

	t.Run("events", func(t *testing.T) {
		const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
		hook, err := c.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: "acme", URL: receiver.URL + "/hook",
			Events: []string{"case.closed"}, Description: "harness", Secret: secret})
		must(err)
		ev, err := c.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: "acme", Topic: "case.closed",
			Data: map[string]any{"resolution": "Closed from the test."}, Count: 3})
		must(err)
		must(c.Sandbox().WaitIdle(ctx))
		for range 3 {
			<-deliveries
		}
		idle, err := c.Sandbox().Idle(ctx, time.Second)
		must(err)
		if acmeIdle, err := c.Sandbox().TenantIdle(ctx, "acme", time.Second); err != nil || !acmeIdle.Idle {
			t.Errorf("acme's idle wait: %+v, %v", acmeIdle, err)
		}
		one, err := c.Webhooks().Deliveries(ctx, hook.ID, client.DeliveryFilter{EventID: ev.EventIDs[1]})
		must(err)
		if hook.Secret != secret || len(ev.EventIDs) != 3 || ev.EventID != ev.EventIDs[0] || !idle.Idle ||
			len(one.Data) != 1 || one.Data[0].EventID != ev.EventIDs[1] {
			t.Errorf("hook %+v, trigger %+v, idle %+v, deliveries %+v", hook, ev, idle, one)
		}
		if _, err := c.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: "acme", Topic: "case.vanished"}); !is(err, 422, "unprocessable") {
			t.Errorf("unknown topic: %v", err)
		}
	})

	t.Run("faults", func(t *testing.T) {
		rule := client.FaultRule{Name: "scopes-outage", Match: client.FaultMatch{Operation: "listScopes"}, When: client.FaultWhen{First: 1},
			Action: client.FaultAction{Error: &client.FaultErrorReply{Status: 503, RetryAfter: client.Duration(20 * time.Second)}}}
		added, err := c.Sandbox().AddFault(ctx, rule)
		must(err)
		if added.Target != client.FaultTargetHTTP || added.Action.Error == nil || added.Action.Error.Status != 503 {
			t.Errorf("added %+v", added)
		}
		if _, err := c.Sandbox().AddFault(ctx, rule); !is(err, 409, "conflict") {
			t.Errorf("a second rule of the same name: %v", err)
		}
		bad := client.FaultRule{Name: "teapot", Action: client.FaultAction{Error: &client.FaultErrorReply{Status: 418}}}
		_, err = c.Sandbox().AddFault(ctx, bad)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != 400 || len(e.Errors) == 0 || e.Errors[0].Field != "/action/error/status" {
			t.Errorf("a bad rule: %v", err)
		}
		if _, err := c.Platform().Scopes(ctx); !is(err, 503, "") {
			t.Errorf("scopes during the outage: %v", err)
		}
		st, err := c.Sandbox().Fault(ctx, rule.Name)
		must(err)
		rules, err := c.Sandbox().Faults(ctx)
		must(err)
		events, err := c.Sandbox().FaultEvents(ctx, client.FaultEventFilter{Rule: rule.Name, Limit: 10})
		must(err)
		if st.Fired != 1 || len(rules) != 1 || len(events) != 1 || events[0].Operation != "listScopes" {
			t.Errorf("status %+v, rules %+v, events %+v", st, rules, events)
		}
		must(c.Sandbox().DeleteFault(ctx, rule.Name))
		if err := c.Sandbox().DeleteFault(ctx, rule.Name); !is(err, 404, "not_found") {
			t.Errorf("deleting it again: %v", err)
		}
		_, err = c.Sandbox().AddFault(ctx, rule)
		must(err)
		must(c.Sandbox().ClearFaults(ctx))
		if rules, err := c.Sandbox().Faults(ctx); err != nil || len(rules) != 0 {
			t.Errorf("after clearing: %+v, %v", rules, err)
		}
	})

	t.Run("graphql", func(t *testing.T) {
		g := c.With(client.WithToken(access.AccessToken)).GraphQL()
		var data struct {
			Case struct{ Number string } `json:"case"`
		}
		must(g.Do(ctx, client.GraphQLRequest{Query: `query($id: ID!) { case(id: $id) { number } }`,
			Variables: map[string]any{"id": "case_acme_1001"}}, &data))
		if data.Case.Number != "ACME-1001" {
			t.Errorf("case %+v", data)
		}
		err := g.Do(ctx, client.GraphQLRequest{Query: `{ case(id: "case_globex_2001") { number } }`}, nil)
		var gqlErrs client.GraphQLErrors
		if !errors.As(err, &gqlErrs) || gqlErrs[0].Code() != "NOT_FOUND" {
			t.Errorf("another tenant's case: %v", err)
		}
		if err := c.With(client.WithToken("")).GraphQL().Do(ctx, client.GraphQLRequest{Query: "{ __typename }"}, nil); !is(err, 401, "UNAUTHENTICATED") {
			t.Errorf("without a token: %v", err)
		}
	})

	t.Run("journal", func(t *testing.T) {
		sctx, cancel := context.WithTimeout(ctx, time.Minute) // a hang guard only
		defer cancel()
		st, err := c.Sandbox().Stream(sctx, client.StreamFilter{Types: []string{"request"}, Operation: "getHealth"})
		must(err)
		defer st.Close()
		_, err = c.Sandbox().Health(ctx)
		must(err)
		ev, err := st.Next()
		must(err)
		var entry client.RequestEntry
		if err := json.Unmarshal(ev.Data, &entry); err != nil || ev.Type != "request" || entry.Operation != "getHealth" || ev.ID == "" {
			t.Errorf("stream frame %+v (%v)", ev, err)
		}
		page, err := c.Sandbox().Requests(ctx, client.RequestFilter{Operation: "getHealth", Limit: 1})
		must(err)
		if len(page.Requests) != 1 || page.Requests[0].RequestID != entry.RequestID || page.NextCursor == "" {
			t.Errorf("journal page %+v, want the streamed request %s first", page, entry.RequestID)
		}
		must(c.Sandbox().ClearRequests(ctx, ""))
		page, err = c.Sandbox().Requests(ctx, client.RequestFilter{Operation: "getHealth"})
		must(err)
		if len(page.Requests) != 0 {
			t.Errorf("after clearing: %+v", page)
		}
		if _, err := c.Sandbox().Requests(ctx, client.RequestFilter{Status: "6xx"}); !is(err, 400, "invalid_request") {
			t.Errorf("a bad status filter: %v", err)
		}
	})

	t.Run("tenants", func(t *testing.T) {
		created, err := c.Sandbox().CreateTenant(ctx, client.TenantCreate{ID: "partner-a", Name: "Partner A",
			Users: []client.TenantUser{{ID: "usr_pa_1", Email: "ann@partner-a.example", Name: "Ann"}}})
		must(err)
		if created.AdminToken == "" || created.ControlToken == "" || created.Fixture || len(created.Policy.ApprovedScopes) == 0 {
			t.Errorf("created %+v", created)
		}
		if _, err := c.Sandbox().CreateTenant(ctx, client.TenantCreate{ID: "partner-a", Name: "Again"}); !is(err, 409, "conflict") {
			t.Errorf("a taken id: %v", err)
		}
		if _, err := c.Sandbox().CreateTenant(ctx, client.TenantCreate{ID: "Bad Id", Name: "x"}); !is(err, 400, "invalid_request") {
			t.Errorf("a bad id: %v", err)
		}
		page, err := c.Sandbox().Tenants(ctx, client.ListOptions{Limit: 100})
		must(err)
		if n := len(page.Data); n < 3 || page.Data[n-1].ID != "partner-a" {
			t.Errorf("tenants %+v", page.Data)
		}
		partner := c.With(client.WithOperatorToken(created.ControlToken), client.WithToken(created.AdminToken))
		got, err := partner.Sandbox().Tenant(ctx, "partner-a")
		must(err)
		if got.ID != "partner-a" || !got.HasControlToken || len(got.Users) != 1 {
			t.Errorf("tenant %+v", got)
		}
		if _, err := partner.Sandbox().Tenant(ctx, "acme"); !is(err, 403, "forbidden") {
			t.Errorf("a control token reading another tenant: %v", err)
		}
		if _, err := partner.Sandbox().AdvanceClock(ctx, time.Hour); err != nil {
			t.Fatal(err)
		}
		own, err := c.Sandbox().TenantClock(ctx, "partner-a")
		must(err)
		sandbox, err := c.Sandbox().Clock(ctx)
		must(err)
		if own.Tenant != "partner-a" || own.Now.Sub(sandbox.Now) < 59*time.Minute {
			t.Errorf("the tenant's clock %+v, the sandbox's %+v", own, sandbox)
		}
		if r, err := partner.Sandbox().ResetTenant(ctx, "", false); err != nil || r.Tenant != "partner-a" {
			t.Errorf("a tenant's reset = %+v, %v", r, err)
		}
		if _, err := partner.Platform().ListApps(ctx, client.ListOptions{}); err != nil {
			t.Errorf("the new admin token: %v", err)
		}
		rotated, err := c.Sandbox().RotateTenantToken(ctx, "partner-a", client.TenantAdminToken)
		must(err)
		if _, err := partner.Platform().ListApps(ctx, client.ListOptions{}); !is(err, 401, "") {
			t.Errorf("the rotated admin token: %v", err)
		}
		if _, err := partner.With(client.WithToken(rotated.Token)).Platform().ListApps(ctx, client.ListOptions{}); err != nil {
			t.Errorf("the new admin token: %v", err)
		}
		must(c.Sandbox().DeleteTenant(ctx, "partner-a"))
		if _, err := partner.Sandbox().Clock(ctx); !is(err, 401, "invalid_token") {
			t.Errorf("a deleted tenant's control token: %v", err)
		}
		if err := c.Sandbox().DeleteTenant(ctx, "partner-a"); !is(err, 404, "not_found") {
			t.Errorf("deleting it again: %v", err)
		}
	})

	t.Run("reset", func(t *testing.T) {
		r, err := c.Sandbox().Reset(ctx, false)
		must(err)
		apps, err := c.Platform().ListApps(ctx, client.ListOptions{})
		must(err)
		if r.KeptApps || len(apps.Data) != 0 {
			t.Errorf("reset %+v, apps %+v", r, apps)
		}
	})

	if t.Failed() {
		return
	}
	for _, op := range unreached(t, rec.seen) {
		t.Errorf("no successful call reached operation %s through the client", op)
	}
}

// is reports whether err is an *Error of that status and code ("" for
// any code).
func is(err error, wantStatus int, wantCode string) bool {
	st, code := status(err)
	return st == wantStatus && (wantCode == "" || code == wantCode)
}

// authorize runs the headless authorization request (login_hint) for
// scopes and returns the code; PKCE challenge of RFC 7636 appendix B.
func authorize(t *testing.T, hc *http.Client, base, clientID string, scopes ...string) string {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {"http://127.0.0.1:8400/callback"},
		"scope": {strings.Join(scopes, " ")}, "state": {"xyz"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"}, "login_hint": {"alice@acme.example"}}
	noRedirect := *hc
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noRedirect.Get(base + "/v1/oauth/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize answered %s, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

// jwtSubject reads the sub claim of a JWT without verifying it: the test
// compares it with the userinfo answer only.
func jwtSubject(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct {
		Sub string `json:"sub"`
	}
	if err == nil {
		err = json.Unmarshal(payload, &claims)
	}
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return claims.Sub
}

// unreached lists the operations of the specs that no recorded request
// reached, apart from those the client leaves out.
func unreached(t *testing.T, seen []string) []string {
	t.Helper()
	type route struct {
		method, op string
		segments   []string
		params     int
	}
	var routes []route
	for _, name := range []string{"sandbox.yaml", "platform.yaml", "oauth.yaml", "webhooks.yaml", "graphql.yaml"} {
		doc, err := specs.Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range doc.Paths.InMatchingOrder() {
			for method, op := range doc.Paths.Value(path).Operations() {
				r := route{method: method, op: op.OperationID, segments: strings.Split(path, "/")}
				r.params = strings.Count(path, "{")
				routes = append(routes, r)
			}
		}
	}
	reached := map[string]bool{"authorize": true, "authorizeSignIn": true, "authorizeConsent": true, "openIDConfiguration": true}
	for _, s := range seen {
		method, path, _ := strings.Cut(s, " ")
		segs := strings.Split(path, "/")
		best := -1
		for i, r := range routes {
			if r.method != method || len(r.segments) != len(segs) {
				continue
			}
			ok := true
			for j, seg := range r.segments {
				if !strings.HasPrefix(seg, "{") && seg != segs[j] {
					ok = false
					break
				}
			}
			if ok && (best < 0 || r.params < routes[best].params) {
				best = i
			}
		}
		if best >= 0 {
			reached[routes[best].op] = true
		}
	}
	var out []string
	for _, r := range routes {
		if !reached[r.op] {
			out = append(out, r.op)
		}
	}
	slices.Sort(out)
	return out
}
