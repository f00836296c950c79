package platform_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/platform"
)

// Access tokens of a partner app in each tenant, holding every partner
// scope (as if the app's scopes had been approved before).
const partnerAcme, partnerGlobex = "partner-token-acme", "partner-token-globex"

var partnerScopes = []string{"audit:export", "environments:onboard", "platform:federation"}

// unlock has the tenant (by its admin token) request capability and the
// control plane approve it.
func (e *env) unlock(admin, capability string) {
	e.t.Helper()
	st, _, ar := e.do("POST", "/v1/platform/access-requests", admin, "application/json",
		`{"capability":"`+capability+`","use_case":"Rehearse the partner workflow before go-live."}`)
	if st != http.StatusCreated {
		e.t.Fatalf("access request: %d %v", st, ar)
	}
	if _, err := e.svc.DecideAccessRequest(context.Background(), ar["id"].(string), true, "ok"); err != nil {
		e.t.Fatal(err)
	}
}

func TestPolicy(t *testing.T) {
	e := newEnvLimits(t, platformLimitsForPolicy)
	st, _, out := e.do("GET", "/v1/platform/policy", globex, "", "")
	if st != http.StatusOK {
		t.Fatalf("policy: %d %v", st, out)
	}
	if out["tenant"] != "globex" {
		t.Errorf("tenant = %v", out["tenant"])
	}
	if diff := cmp.Diff([]string{"cases:read", "webhooks:read", "webhooks:write"}, strs(out["approved_scopes"])); diff != "" {
		t.Errorf("approved_scopes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"client_credentials"}, strs(out["grant_types"])); diff != "" {
		t.Errorf("grant_types (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"https://*.globex.example/*"}, strs(out["redirect_uri_patterns"])); diff != "" {
		t.Errorf("redirect_uri_patterns (-want +got):\n%s", diff)
	}
	if got := out["partner_scopes"].(map[string]any)["audit:export"]; got != "advanced_platform_apis" {
		t.Errorf("partner_scopes[audit:export] = %v", got)
	}
	if slices.Contains(strs(out["published_scopes"]), "audit:export") {
		t.Error("a partner scope is listed as published")
	}
	limits := out["limits"].(map[string]any)
	if limits["apps_per_tenant"] != float64(7) || limits["environments_per_tenant"] != float64(3) {
		t.Errorf("limits = %v, want the store's", limits)
	}
	caps := func() map[string]any {
		_, _, out := e.do("GET", "/v1/platform/policy", globex, "", "")
		m := map[string]any{}
		for _, c := range out["capabilities"].([]any) {
			c := c.(map[string]any)
			m[c["capability"].(string)] = c["status"]
		}
		return m
	}
	if got := caps(); got["federation"] != "not_requested" || len(got) != 4 {
		t.Errorf("capabilities before any request = %v", got)
	}
	e.unlock(globex, "federation")
	st, _, ar := e.do("POST", "/v1/platform/access-requests", globex, "application/json",
		`{"capability":"curated_graphql_bundles","use_case":"Rehearse the partner workflow before go-live."}`)
	if st != http.StatusCreated {
		t.Fatal(st)
	}
	got := caps()
	if got["federation"] != "approved" || got["curated_graphql_bundles"] != "pending" {
		t.Errorf("capabilities = %v, want federation approved, bundles pending", got)
	}
	if _, err := e.svc.DecideAccessRequest(context.Background(), ar["id"].(string), false, "no"); err != nil {
		t.Fatal(err)
	}
	if got := caps(); got["curated_graphql_bundles"] != "denied" {
		t.Errorf("bundles after a denial = %v", got["curated_graphql_bundles"])
	}
	// Each tenant sees its own: acme requested nothing.
	_, _, acmePolicy := e.do("GET", "/v1/platform/policy", acme, "", "")
	for _, c := range acmePolicy["capabilities"].([]any) {
		if c.(map[string]any)["status"] != "not_requested" {
			t.Errorf("acme sees globex's capability: %v", c)
		}
	}
	// An access token does not read the policy: it is the administrator's.
	if st, _, out := e.do("GET", "/v1/platform/policy", "app-token-acme", "", ""); st != http.StatusUnauthorized {
		t.Errorf("policy with an access token: %d %v", st, out)
	}
}

// exportLines downloads the audit export and returns the status, headers
// and one decoded object per line.
func (e *env) exportLines(token, query string) (int, http.Header, []map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/platform/audit-events/export"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			e.t.Fatalf("export line is not JSON: %s", sc.Text())
		}
		lines = append(lines, m)
	}
	return resp.StatusCode, resp.Header, lines
}

func TestAuditExport(t *testing.T) {
	e := newEnv(t)
	// Refused until the capability is approved, whatever the token.
	for _, tok := range []string{acme, partnerAcme} {
		st, _, lines := e.exportLines(tok, "")
		if st != http.StatusForbidden || len(lines) != 1 || lines[0]["code"] != "review_required" || lines[0]["capability"] != "advanced_platform_apis" {
			t.Errorf("export before approval with %s: %d %v", tok, st, lines)
		}
	}
	e.unlock(acme, "advanced_platform_apis")
	e.clock.Advance(time.Hour)
	e.createApp(acme, `{"name":"One","grant_types":["client_credentials"]}`)
	cut := e.clock.Now().UTC()
	e.clock.Advance(time.Hour)
	e.createApp(acme, `{"name":"Two","grant_types":["client_credentials"]}`)

	st, h, lines := e.exportLines(partnerAcme, "")
	if st != http.StatusOK {
		t.Fatalf("export: %d %v", st, lines)
	}
	if ct := h.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cd := h.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="audit-acme-`) {
		t.Errorf("Content-Disposition = %q", cd)
	}
	var actions []string
	for _, l := range lines {
		actions = append(actions, l["action"].(string))
	}
	want := []string{"access_request.created", "access_request.decided", "app.created", "app.created"}
	if diff := cmp.Diff(want, actions); diff != "" {
		t.Errorf("exported actions (-want +got):\n%s", diff)
	}
	// The export is recorded, after it was served.
	_, _, lines = e.exportLines(acme, "?since="+cut.Format(time.RFC3339))
	actions = nil
	for _, l := range lines {
		actions = append(actions, l["action"].(string))
	}
	if diff := cmp.Diff([]string{"app.created", "app.created", "audit.exported"}, actions); diff != "" {
		t.Errorf("since %s (-want +got):\n%s", cut, diff)
	}
	if _, _, lines = e.exportLines(acme, "?until="+cut.Format(time.RFC3339)); len(lines) != 2 {
		t.Errorf("until: %d events, want the 2 before the cut", len(lines))
	}
	// Another tenant's export holds only its own events.
	e.unlock(globex, "advanced_platform_apis")
	_, _, lines = e.exportLines(partnerGlobex, "")
	for _, l := range lines {
		if l["target"] != "" && strings.HasPrefix(l["target"].(string), "app_") {
			t.Errorf("globex's export holds an acme app event: %v", l)
		}
	}
	for _, q := range []string{"?since=yesterday", "?since=" + cut.Format(time.RFC3339) + "&until=" + cut.Add(-time.Second).Format(time.RFC3339)} {
		if st, _, lines := e.exportLines(acme, q); st != http.StatusBadRequest {
			t.Errorf("export%s: %d %v, want 400", q, st, lines)
		}
	}
	// A token without the scope is refused by scope, before the capability.
	if st, _, lines := e.exportLines("app-token-acme", ""); st != http.StatusForbidden || lines[0]["code"] != "insufficient_scope" {
		t.Errorf("export without audit:export: %d %v", st, lines)
	}
}

func TestEnvironments(t *testing.T) {
	e := newEnvLimits(t, platformLimitsForPolicy)
	body := `{"name":"Sovereign EU staging","region":"eu-central"}`
	if st, _, out := e.do("POST", "/v1/platform/environments", partnerAcme, "application/json", body); st != http.StatusForbidden || out["code"] != "review_required" || out["capability"] != "environment_onboarding" {
		t.Fatalf("before approval: %d %v", st, out)
	}
	if st, _, out := e.do("GET", "/v1/platform/environments", acme, "", ""); st != http.StatusForbidden || out["code"] != "review_required" {
		t.Fatalf("list before approval: %d %v", st, out)
	}
	e.unlock(acme, "environment_onboarding")
	st, _, env := e.do("POST", "/v1/platform/environments", partnerAcme, "application/json", body)
	if st != http.StatusCreated || env["status"] != "provisioning" || env["region"] != "eu-central" {
		t.Fatalf("create: %d %v", st, env)
	}
	id := env["id"].(string)
	e.clock.Advance(29 * time.Second)
	if _, _, got := e.do("GET", "/v1/platform/environments/"+id, acme, "", ""); got["status"] != "provisioning" {
		t.Errorf("after 29 s: %v", got["status"])
	}
	e.clock.Advance(time.Second)
	if _, _, got := e.do("GET", "/v1/platform/environments/"+id, partnerAcme, "", ""); got["status"] != "ready" {
		t.Errorf("after 30 s: %v", got["status"])
	}
	if st, _, out := e.do("POST", "/v1/platform/environments", acme, "application/json", `{"name":"No region"}`); st != http.StatusCreated || out["region"] != "local" {
		t.Errorf("without region: %d %v", st, out)
	}
	if st, _, out := e.do("POST", "/v1/platform/environments", acme, "application/json", `{"name":"x","region":"EU WEST"}`); st != http.StatusBadRequest {
		t.Errorf("bad region: %d %v", st, out)
	}
	// Tenant isolation: globex, even approved, does not see acme's.
	e.unlock(globex, "environment_onboarding")
	if st, _, out := e.do("GET", "/v1/platform/environments/"+id, partnerGlobex, "", ""); st != http.StatusNotFound {
		t.Errorf("another tenant's environment: %d %v", st, out)
	}
	if _, _, out := e.do("GET", "/v1/platform/environments", globex, "", ""); len(out["data"].([]any)) != 0 {
		t.Errorf("globex lists %v", out["data"])
	}
	if _, _, out := e.do("GET", "/v1/platform/environments", acme, "", ""); len(out["data"].([]any)) != 2 {
		t.Errorf("acme lists %v", out["data"])
	}
	// The limit (3 in this store).
	if st, _, out := e.do("POST", "/v1/platform/environments", acme, "application/json", `{"name":"Third"}`); st != http.StatusCreated {
		t.Fatalf("third: %d %v", st, out)
	}
	if st, _, out := e.do("POST", "/v1/platform/environments", acme, "application/json", `{"name":"Fourth"}`); st != http.StatusConflict || out["code"] != "limit_reached" {
		t.Errorf("past the limit: %d %v", st, out)
	}
	if st, _, out := e.do("GET", "/v1/platform/environments", "app-token-acme", "", ""); st != http.StatusForbidden || out["code"] != "insufficient_scope" {
		t.Errorf("without environments:onboard: %d %v", st, out)
	}
	n := 0
	_ = e.svc.EachAuditEvent(context.Background(), "acme", func(ev platform.AuditEvent) error {
		if ev.Action == "environment.requested" {
			n++
		}
		return nil
	})
	if n != 3 {
		t.Errorf("%d environment.requested audit events, want 3", n)
	}
}

func TestFederationMetadata(t *testing.T) {
	e := newEnv(t)
	if st, _, out := e.do("GET", "/v1/platform/federation/metadata", partnerGlobex, "", ""); st != http.StatusForbidden || out["code"] != "review_required" || out["capability"] != "federation" {
		t.Fatalf("before approval: %d %v", st, out)
	}
	e.unlock(globex, "federation")
	st, _, out := e.do("GET", "/v1/platform/federation/metadata", partnerGlobex, "", "")
	if st != http.StatusOK || out["tenant"] != "globex" || out["token_exchange_supported"] != false ||
		!strings.HasSuffix(out["jwks_uri"].(string), "/.well-known/jwks.json") {
		t.Errorf("metadata: %d %v", st, out)
	}
	// acme's approval is its own.
	if st, _, out := e.do("GET", "/v1/platform/federation/metadata", acme, "", ""); st != http.StatusForbidden {
		t.Errorf("acme without approval: %d %v", st, out)
	}
	if st, _, out := e.do("GET", "/v1/platform/federation/metadata", "app-token-acme", "", ""); st != http.StatusForbidden || out["code"] != "insufficient_scope" {
		t.Errorf("without platform:federation: %d %v", st, out)
	}
}

var platformLimitsForPolicy = platform.Limits{AppsPerTenant: 7, EnvironmentsPerTenant: 3}
