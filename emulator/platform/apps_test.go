package platform_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const portalExample = `{"name":"Case sync connector","grant_types":["client_credentials"],"requested_scopes":["webhooks:write"]}`

func TestCreateAppPortalExample(t *testing.T) {
	e := newEnv(t)
	out := e.createApp(acme, portalExample)
	if !strings.HasPrefix(out["id"].(string), "app_") || !strings.HasPrefix(out["client_id"].(string), "cli_") {
		t.Errorf("ids not prefixed: %v", out)
	}
	secret, _ := out["client_secret"].(string)
	if len(secret) < 40 {
		t.Errorf("client_secret too short: %q", secret)
	}
	if diff := cmp.Diff([]string{"webhooks:write"}, strs(out["approved_scopes"])); diff != "" {
		t.Errorf("approved_scopes (-want +got):\n%s", diff)
	}
	if out["status"] != "active" {
		t.Errorf("status = %v", out["status"])
	}
	ok, err := e.svc.CheckSecret(context.Background(), out["client_id"].(string), secret)
	if err != nil || !ok {
		t.Errorf("secret does not verify: %v %v", ok, err)
	}
	// The secret is shown once: reading the app never returns it.
	_, _, got := e.do("GET", "/v1/platform/apps/"+out["id"].(string), acme, "", "")
	if _, leaked := got["client_secret"]; leaked {
		t.Error("GET returned the client secret")
	}
}

func TestCreateAppGovernance(t *testing.T) {
	tests := []struct {
		name        string
		token, body string
		wantStatus  int
		wantCode    string
		wantField   string
		wantPending []string
		wantApp     string
	}{
		{name: "unpublished scope", token: acme, body: `{"name":"x","grant_types":["client_credentials"],"requested_scopes":["cases:delete"]}`,
			wantStatus: 400, wantCode: "invalid_scope", wantField: "/requested_scopes/0"},
		{name: "partner scope needs review", token: acme, body: `{"name":"x","grant_types":["client_credentials"],"requested_scopes":["cases:read","graphql:bundles"]}`,
			wantStatus: 403, wantCode: "review_required", wantField: "/requested_scopes/1"},
		{name: "scope outside globex policy stays pending", token: globex, body: `{"name":"x","grant_types":["client_credentials"],"requested_scopes":["cases:read","cases:write"]}`,
			wantStatus: 201, wantPending: []string{"cases:write"}, wantApp: "pending_review"},
		{name: "acme approves all published scopes", token: acme, body: `{"name":"x","grant_types":["client_credentials","authorization_code","refresh_token"],"redirect_uris":["http://127.0.0.1:53682/callback"],"requested_scopes":["cases:read","cases:write","users:read"]}`,
			wantStatus: 201, wantPending: []string{}, wantApp: "active"},
		{name: "authorization code outside globex policy is pending", token: globex, body: `{"name":"x","grant_types":["authorization_code"],"redirect_uris":["https://app.globex.example/cb"],"requested_scopes":["cases:read"]}`,
			wantStatus: 201, wantPending: []string{}, wantApp: "pending_review"},
		{name: "authorization code needs a redirect URI", token: acme, body: `{"name":"x","grant_types":["authorization_code"]}`,
			wantStatus: 400, wantCode: "invalid_request", wantField: "/redirect_uris"},
		{name: "plain http redirect refused", token: acme, body: `{"name":"x","grant_types":["authorization_code"],"redirect_uris":["http://app.acme.example/cb"]}`,
			wantStatus: 400, wantCode: "invalid_request", wantField: "/redirect_uris/0"},
		{name: "fragment refused", token: acme, body: `{"name":"x","grant_types":["authorization_code"],"redirect_uris":["https://app.acme.example/cb#x"]}`,
			wantStatus: 400, wantCode: "invalid_request", wantField: "/redirect_uris/0"},
		{name: "refresh token alone refused", token: acme, body: `{"name":"x","grant_types":["refresh_token"]}`,
			wantStatus: 400, wantCode: "invalid_request", wantField: "/grant_types"},
		{name: "unknown grant type", token: acme, body: `{"name":"x","grant_types":["password"]}`,
			wantStatus: 400, wantCode: "invalid_request", wantField: "/grant_types/0"},
		{name: "unknown field", token: acme, body: `{"name":"x","grant_types":["client_credentials"],"colour":"red"}`,
			wantStatus: 400, wantCode: "invalid_request", wantField: "/colour"},
		{name: "missing name", token: acme, body: `{"grant_types":["client_credentials"]}`,
			wantStatus: 400, wantCode: "invalid_request", wantField: "/name"},
		{name: "malformed JSON", token: acme, body: `{"name":`,
			wantStatus: 400, wantCode: "invalid_request", wantField: "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			st, _, out := e.do("POST", "/v1/platform/apps", tt.token, "application/json", tt.body)
			if st != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %v", st, tt.wantStatus, out)
			}
			if tt.wantCode != "" {
				if out["code"] != tt.wantCode {
					t.Errorf("code = %v, want %s", out["code"], tt.wantCode)
				}
				if !hasField(out, tt.wantField) {
					t.Errorf("errors %v do not name %s", out["errors"], tt.wantField)
				}
				// Refused requests leave no app behind.
				_, _, list := e.do("GET", "/v1/platform/apps", tt.token, "", "")
				if n := len(list["data"].([]any)); n != 0 {
					t.Errorf("%d apps exist after a refused request", n)
				}
				return
			}
			if diff := cmp.Diff(tt.wantPending, strs(append([]any{}, out["pending_scopes"].([]any)...))); diff != "" && !(len(tt.wantPending) == 0 && len(out["pending_scopes"].([]any)) == 0) {
				t.Errorf("pending_scopes (-want +got):\n%s", diff)
			}
			if out["status"] != tt.wantApp {
				t.Errorf("app status = %v, want %s", out["status"], tt.wantApp)
			}
		})
	}
}

func hasField(problem map[string]any, field string) bool {
	errs, _ := problem["errors"].([]any)
	for _, e := range errs {
		if m, _ := e.(map[string]any); m["field"] == field {
			return true
		}
	}
	return false
}

func TestRequestRefusedBeforeHandler(t *testing.T) {
	e := newEnv(t)
	big := `{"name":"` + strings.Repeat("a", 70<<10) + `","grant_types":["client_credentials"]}`
	tests := []struct {
		name, method, path, token, ctype, body string
		wantStatus                             int
		wantCode                               string
		wantChallenge                          string
	}{
		{"no token", "POST", "/v1/platform/apps", "", "application/json", portalExample, 401, "unauthorized", `Bearer realm="argus"`},
		{"unknown token", "POST", "/v1/platform/apps", "nope", "application/json", portalExample, 401, "invalid_token", `error="invalid_token"`},
		{"wrong content type", "POST", "/v1/platform/apps", acme, "text/plain", portalExample, 415, "unsupported_media_type", ""},
		{"form body", "POST", "/v1/platform/apps", acme, "application/x-www-form-urlencoded", "name=x", 415, "unsupported_media_type", ""},
		{"oversized body", "POST", "/v1/platform/apps", acme, "application/json", big, 413, "request_too_large", ""},
		{"token in query", "GET", "/v1/platform/apps?access_token=" + acme, "", "", "", 400, "invalid_request", `error="invalid_request"`},
		{"bad limit", "GET", "/v1/platform/apps?limit=1000", acme, "", "", 400, "invalid_request", ""},
		{"bad cursor", "GET", "/v1/platform/apps?cursor=!!", acme, "", "", 400, "invalid_request", ""},
		{"malformed app id", "GET", "/v1/platform/apps/nope", acme, "", "", 400, "invalid_request", ""},
		{"unknown path", "GET", "/v1/platform/nothing", acme, "", "", 404, "not_found", ""},
		{"method not allowed", "PUT", "/v1/platform/apps", acme, "application/json", "{}", 405, "method_not_allowed", ""},
		{"app token lacks admin rights", "GET", "/v1/platform/apps", "app-token-acme", "", "", 401, "invalid_token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, h, out := e.do(tt.method, tt.path, tt.token, tt.ctype, tt.body)
			if st != tt.wantStatus || out["code"] != tt.wantCode {
				t.Fatalf("got %d %v, want %d %s", st, out, tt.wantStatus, tt.wantCode)
			}
			if ct := h.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if tt.wantChallenge != "" && !strings.Contains(h.Get("WWW-Authenticate"), tt.wantChallenge) {
				t.Errorf("WWW-Authenticate = %q, want %q", h.Get("WWW-Authenticate"), tt.wantChallenge)
			}
		})
	}
	_, _, list := e.do("GET", "/v1/platform/apps", acme, "", "")
	if n := len(list["data"].([]any)); n != 0 {
		t.Errorf("refused requests created %d apps", n)
	}
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	app := e.createApp(acme, portalExample)
	id := app["id"].(string)
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/v1/platform/apps/" + id, ""},
		{"PATCH", "/v1/platform/apps/" + id, `{"name":"stolen"}`},
		{"DELETE", "/v1/platform/apps/" + id, ""},
		{"POST", "/v1/platform/apps/" + id + "/secrets", ""},
		{"GET", "/v1/platform/apps/" + id + "/secrets", ""},
		{"POST", "/v1/platform/apps/" + id + "/service-tokens", ""},
		{"POST", "/v1/platform/apps/" + id + "/review", `{"approve":{"scopes":["webhooks:write"]}}`},
	} {
		ct := ""
		if req.body != "" {
			ct = "application/json"
		}
		st, _, out := e.do(req.method, req.path, globex, ct, req.body)
		if st != http.StatusNotFound || out["code"] != "not_found" {
			t.Errorf("%s %s as globex: %d %v, want 404", req.method, req.path, st, out)
		}
	}
	_, _, list := e.do("GET", "/v1/platform/apps", globex, "", "")
	if n := len(list["data"].([]any)); n != 0 {
		t.Errorf("globex lists %d apps", n)
	}
	_, _, got := e.do("GET", "/v1/platform/apps/"+id, acme, "", "")
	if got["name"] != "Case sync connector" {
		t.Errorf("acme's app changed: %v", got)
	}
}

func TestReviewAndUpdate(t *testing.T) {
	e := newEnv(t)
	app := e.createApp(globex, `{"name":"x","grant_types":["client_credentials"],"requested_scopes":["cases:read","cases:write"]}`)
	id := app["id"].(string)
	st, _, out := e.do("POST", "/v1/platform/apps/"+id+"/review", globex, "application/json", `{"approve":{"scopes":["cases:write"]}}`)
	if st != 200 || out["status"] != "active" || len(out["pending_scopes"].([]any)) != 0 {
		t.Fatalf("approve: %d %v", st, out)
	}
	st, _, out = e.do("POST", "/v1/platform/apps/"+id+"/review", globex, "application/json", `{"deny":{"scopes":["cases:write"]}}`)
	if st != http.StatusConflict || out["code"] != "not_pending" {
		t.Errorf("deciding twice: %d %v", st, out)
	}
	// New scopes go through governance again; approved ones keep approval.
	st, _, out = e.do("PATCH", "/v1/platform/apps/"+id, globex, "application/json", `{"requested_scopes":["cases:write","users:read"],"name":"Renamed"}`)
	if st != 200 || out["name"] != "Renamed" {
		t.Fatalf("update: %d %v", st, out)
	}
	if diff := cmp.Diff([]string{"cases:write"}, strs(out["approved_scopes"])); diff != "" {
		t.Errorf("approved after update: %s", diff)
	}
	if diff := cmp.Diff([]string{"users:read"}, strs(out["pending_scopes"])); diff != "" {
		t.Errorf("pending after update: %s", diff)
	}
	st, _, out = e.do("POST", "/v1/platform/apps/"+id+"/review", globex, "application/json", `{"deny":{"scopes":["users:read"]}}`)
	if st != 200 || out["status"] != "active" {
		t.Errorf("deny: %d %v", st, out)
	}
	_, _, audit := e.do("GET", "/v1/platform/audit-events?target="+id, globex, "", "")
	var actions []string
	for _, ev := range audit["data"].([]any) {
		actions = append(actions, ev.(map[string]any)["action"].(string))
	}
	if diff := cmp.Diff([]string{"app.created", "app.reviewed", "app.updated", "app.reviewed"}, actions); diff != "" {
		t.Errorf("audit actions (-want +got):\n%s", diff)
	}
}

func TestSecretRotationGrace(t *testing.T) {
	e := newEnv(t)
	app := e.createApp(acme, portalExample)
	id, cid, old := app["id"].(string), app["client_id"].(string), app["client_secret"].(string)
	st, _, out := e.do("POST", "/v1/platform/apps/"+id+"/secrets", acme, "application/json", `{"grace_period_seconds":3600}`)
	if st != 201 {
		t.Fatalf("rotate: %d %v", st, out)
	}
	fresh := out["client_secret"].(string)
	ctx := context.Background()
	for _, c := range []struct {
		secret string
		want   bool
	}{{old, true}, {fresh, true}, {"sec_wrong", false}} {
		if ok, _ := e.svc.CheckSecret(ctx, cid, c.secret); ok != c.want {
			t.Errorf("CheckSecret(%.12s…) = %v, want %v during grace", c.secret, ok, c.want)
		}
	}
	_, _, list := e.do("GET", "/v1/platform/apps/"+id+"/secrets", acme, "", "")
	if n := len(list["data"].([]any)); n != 2 {
		t.Errorf("%d secrets listed during grace, want 2", n)
	}
	e.clock.Advance(time.Hour + time.Second)
	if ok, _ := e.svc.CheckSecret(ctx, cid, old); ok {
		t.Error("old secret still works after its grace period")
	}
	if ok, _ := e.svc.CheckSecret(ctx, cid, fresh); !ok {
		t.Error("new secret does not work")
	}
	// grace 0 revokes the previous secret at once.
	_, _, out = e.do("POST", "/v1/platform/apps/"+id+"/secrets", acme, "application/json", `{"grace_period_seconds":0}`)
	if ok, _ := e.svc.CheckSecret(ctx, cid, fresh); ok {
		t.Error("secret still works after rotation with grace 0")
	}
	if ok, _ := e.svc.CheckSecret(ctx, cid, out["client_secret"].(string)); !ok {
		t.Error("newest secret does not work")
	}
}

func TestServiceTokensAndDelete(t *testing.T) {
	e := newEnv(t)
	app := e.createApp(acme, `{"name":"x","grant_types":["client_credentials"],"requested_scopes":["cases:read","webhooks:write"]}`)
	id, cid := app["id"].(string), app["client_id"].(string)
	st, _, out := e.do("POST", "/v1/platform/apps/"+id+"/service-tokens", acme, "application/json", `{"scopes":["users:read"]}`)
	if st != 400 || out["code"] != "invalid_scope" {
		t.Errorf("unapproved scope: %d %v", st, out)
	}
	st, _, out = e.do("POST", "/v1/platform/apps/"+id+"/service-tokens", acme, "application/json", `{"scopes":["cases:read"],"ttl_seconds":600}`)
	if st != 201 || out["access_token"] != "jwt-for-"+cid || out["token_type"] != "Bearer" {
		t.Fatalf("mint: %d %v", st, out)
	}
	tokID := out["id"].(string)
	_, _, list := e.do("GET", "/v1/platform/apps/"+id+"/service-tokens", acme, "", "")
	if got := list["data"].([]any)[0].(map[string]any); got["status"] != "active" || got["access_token"] != nil {
		t.Errorf("listed token: %v", got)
	}
	if st, _, _ := e.do("DELETE", "/v1/platform/apps/"+id+"/service-tokens/"+tokID, acme, "", ""); st != 204 {
		t.Errorf("revoke: %d", st)
	}
	if st, _, _ := e.do("DELETE", "/v1/platform/apps/"+id, acme, "", ""); st != 204 {
		t.Errorf("delete: %d", st)
	}
	if diff := cmp.Diff([]string{tokID, tokID}, e.minter.revoked); diff != "" {
		t.Errorf("revocations (-want +got):\n%s", diff)
	}
	if _, err := e.svc.LookupClient(context.Background(), cid); err == nil {
		t.Error("deleted app's client still resolves")
	}
	if ok, _ := e.svc.CheckSecret(context.Background(), cid, app["client_secret"].(string)); ok {
		t.Error("deleted app's secret still works")
	}
	if st, _, _ := e.do("GET", "/v1/platform/apps/"+id, acme, "", ""); st != 404 {
		t.Errorf("deleted app: %d", st)
	}
}

func TestAccessRequestUnlocksPartnerScopes(t *testing.T) {
	e := newEnv(t)
	st, _, out := e.do("POST", "/v1/platform/access-requests", acme, "application/json",
		`{"capability":"curated_graphql_bundles","use_case":"Merge duplicate cases from our intake connector.","requested_scopes":["graphql:bundles"]}`)
	if st != 201 || out["status"] != "submitted" {
		t.Fatalf("create: %d %v", st, out)
	}
	rid := out["id"].(string)
	if st, _, _ := e.do("GET", "/v1/platform/access-requests/"+rid, globex, "", ""); st != 404 {
		t.Errorf("globex sees acme's request: %d", st)
	}
	body := `{"name":"x","grant_types":["client_credentials"],"requested_scopes":["graphql:bundles"]}`
	if st, _, _ := e.do("POST", "/v1/platform/apps", acme, "application/json", body); st != 403 {
		t.Errorf("partner scope before approval: %d", st)
	}
	if _, err := e.svc.DecideAccessRequest(context.Background(), rid, true, "approved for the program"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.DecideAccessRequest(context.Background(), rid, false, ""); err == nil {
		t.Error("deciding twice succeeded")
	}
	app := e.createApp(acme, body)
	if diff := cmp.Diff([]string{"graphql:bundles"}, strs(app["approved_scopes"])); diff != "" {
		t.Errorf("approved (-want +got):\n%s", diff)
	}
	if st, _, _ := e.do("POST", "/v1/platform/apps", globex, "application/json", body); st != 403 {
		t.Errorf("globex got acme's capability: %d", st)
	}
	_, _, scopes := e.do("GET", "/v1/platform/scopes", acme, "", "")
	found := false
	for _, s := range scopes["data"].([]any) {
		if s.(map[string]any)["name"] == "graphql:bundles" {
			found = true
		}
	}
	if !found {
		t.Error("unlocked partner scope not listed")
	}
	st, _, out = e.do("POST", "/v1/platform/access-requests", acme, "application/json",
		`{"capability":"federation","use_case":"Federate our corporate identity provider.","requested_scopes":["cases:read"]}`)
	if st != 400 || !hasField(out, "/requested_scopes/0") {
		t.Errorf("published scope in access request: %d %v", st, out)
	}
}

func TestScopesAndPagination(t *testing.T) {
	e := newEnv(t)
	_, _, out := e.do("GET", "/v1/platform/scopes", "app-token-acme", "", "")
	approved := map[string]bool{}
	for _, s := range out["data"].([]any) {
		m := s.(map[string]any)
		if m["visibility"] == "partner" {
			t.Errorf("locked partner scope listed: %v", m)
		}
		approved[m["name"].(string)] = m["approved"].(bool)
	}
	if !approved["cases:write"] {
		t.Error("acme has approved cases:write")
	}
	_, _, out = e.do("GET", "/v1/platform/scopes", globex, "", "")
	for _, s := range out["data"].([]any) {
		if m := s.(map[string]any); m["name"] == "cases:write" && m["approved"] != false {
			t.Error("globex has not approved cases:write")
		}
	}
	for i := 0; i < 5; i++ {
		e.createApp(acme, portalExample)
	}
	seen := 0
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		_, _, page := e.do("GET", "/v1/platform/apps?limit=2&cursor="+cursor, acme, "", "")
		seen += len(page["data"].([]any))
		next, _ := page["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if seen != 5 {
		t.Errorf("pagination returned %d apps, want 5", seen)
	}
}

// TestAppPagesSurviveADelete: the apps cursor is the last app served, not
// an offset, so an app deleted between two pages moves no other app out
// of the next page (an offset would skip one).
func TestAppPagesSurviveADelete(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for range 4 {
		ids = append(ids, e.createApp(acme, portalExample)["id"].(string))
	}
	page := func(cursor string) ([]string, string) {
		st, _, out := e.do("GET", "/v1/platform/apps?limit=2&cursor="+cursor, acme, "", "")
		if st != 200 {
			t.Fatalf("apps page: %d %v", st, out)
		}
		var got []string
		for _, a := range out["data"].([]any) {
			got = append(got, a.(map[string]any)["id"].(string))
		}
		next, _ := out["next_cursor"].(string)
		return got, next
	}
	first, next := page("")
	if len(first) != 2 || first[0] != ids[0] || next == "" {
		t.Fatalf("first page = %v, next %q", first, next)
	}
	if st, _, out := e.do("DELETE", "/v1/platform/apps/"+ids[0], acme, "", ""); st != 204 {
		t.Fatalf("delete: %d %v", st, out)
	}
	second, last := page(next)
	if len(second) != 2 || second[0] != ids[2] || second[1] != ids[3] || last != "" {
		t.Errorf("page after a delete = %v (next %q), want %v as the last page", second, last, ids[2:])
	}
}

// TestUpdateWithPartnerScope: adding a partner scope through PATCH goes
// through reviewed access exactly like creation (and the store stays
// usable afterwards).
func TestUpdateWithPartnerScope(t *testing.T) {
	e := newEnv(t)
	app := e.createApp(globex, `{"name":"x","grant_types":["client_credentials"],"requested_scopes":["cases:read"]}`)
	id := app["id"].(string)
	body := `{"requested_scopes":["cases:read","audit:export"]}`
	st, _, out := e.do("PATCH", "/v1/platform/apps/"+id, globex, "application/json", body)
	if st != http.StatusForbidden || out["code"] != "review_required" || !hasField(out, "/requested_scopes/1") {
		t.Fatalf("partner scope without access: %d %v", st, out)
	}
	if st, _, _ := e.do("GET", "/v1/platform/apps", acme, "", ""); st != 200 {
		t.Fatalf("store unusable after the refused update: %d", st)
	}
	st, _, ar := e.do("POST", "/v1/platform/access-requests", globex, "application/json",
		`{"capability":"advanced_platform_apis","use_case":"Export the audit trail to our SIEM nightly.","requested_scopes":["audit:export"]}`)
	if st != 201 {
		t.Fatalf("access request: %d %v", st, ar)
	}
	if _, err := e.svc.DecideAccessRequest(context.Background(), ar["id"].(string), true, "ok"); err != nil {
		t.Fatal(err)
	}
	st, _, out = e.do("PATCH", "/v1/platform/apps/"+id, globex, "application/json", body)
	if st != 200 {
		t.Fatalf("partner scope after approval: %d %v", st, out)
	}
	if diff := cmp.Diff([]string{"cases:read", "audit:export"}, strs(out["approved_scopes"])); diff != "" {
		t.Errorf("approved (-want +got):\n%s", diff)
	}
}

// TestCredentialResponsesAreNotCached: every answer carrying a secret or a
// token says Cache-Control: no-store (RFC 6749 §5.1).
func TestCredentialResponsesAreNotCached(t *testing.T) {
	e := newEnv(t)
	req := func(method, path, body string) http.Header {
		t.Helper()
		st, h, out := e.do(method, path, acme, "application/json", body)
		if st/100 != 2 {
			t.Fatalf("%s %s: %d %v", method, path, st, out)
		}
		return h
	}
	st, h, app := e.do("POST", "/v1/platform/apps", acme, "application/json", portalExample)
	if st != 201 {
		t.Fatal(st)
	}
	id := app["id"].(string)
	for name, hdr := range map[string]http.Header{
		"create app":           h,
		"rotate secret":        req("POST", "/v1/platform/apps/"+id+"/secrets", `{}`),
		"create service token": req("POST", "/v1/platform/apps/"+id+"/service-tokens", `{}`),
	} {
		if got := hdr.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control = %q, want no-store", name, got)
		}
	}
}

func TestRevokeServiceTokenIsIdempotent(t *testing.T) {
	e := newEnv(t)
	app := e.createApp(acme, portalExample)
	id := app["id"].(string)
	_, _, tok := e.do("POST", "/v1/platform/apps/"+id+"/service-tokens", acme, "application/json", `{}`)
	path := "/v1/platform/apps/" + id + "/service-tokens/" + tok["id"].(string)
	for i := 0; i < 2; i++ {
		if st, _, out := e.do("DELETE", path, acme, "", ""); st != 204 {
			t.Fatalf("revoke %d: %d %v", i+1, st, out)
		}
	}
	_, _, audit := e.do("GET", "/v1/platform/audit-events?target="+id, acme, "", "")
	n := 0
	for _, ev := range audit["data"].([]any) {
		if ev.(map[string]any)["action"] == "app.service_token_revoked" {
			n++
		}
	}
	if n != 1 || len(e.minter.revoked) != 1 {
		t.Errorf("audit has %d revocations and the minter saw %d, want 1 and 1", n, len(e.minter.revoked))
	}
}
