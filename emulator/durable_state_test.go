package emulator_test

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/internal/pgtest"
)

// replica is an in-process sandbox on a durable store.
type replica struct {
	t  *testing.T
	sb *emulator.Sandbox
}

// openReplica starts a sandbox on the SQLite database in dataDir or the
// PostgreSQL database at databaseURL (one of them).
func openReplica(t *testing.T, dataDir, databaseURL string) *replica {
	t.Helper()
	sb, err := emulator.New(emulator.Config{Issuer: "http://127.0.0.1:8080", DataDir: dataDir, DatabaseURL: databaseURL, OperatorToken: "op_test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return &replica{t: t, sb: sb}
}

// do sends a request (a JSON body, or a form when body starts with "form:")
// and answers the status and the decoded JSON body.
func (r *replica) do(method, path, token, body string) (int, map[string]any) {
	r.t.Helper()
	ctype := "application/json"
	if form, ok := strings.CutPrefix(body, "form:"); ok {
		body, ctype = form, "application/x-www-form-urlencoded"
	}
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Host = "127.0.0.1:8080"
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	r.sb.Handler().ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// must is do, failing the test unless the status is want.
func (r *replica) must(want int, method, path, token, body string) map[string]any {
	r.t.Helper()
	code, out := r.do(method, path, token, body)
	if code != want {
		r.t.Fatalf("%s %s = %d %v, want %d", method, path, code, out, want)
	}
	return out
}

// clockAt reads a clock (tenant "" the sandbox clock) with the operator token.
func (r *replica) clockAt(tenant string) (time.Time, bool) {
	r.t.Helper()
	path := "/_sandbox/clock"
	if tenant != "" {
		path += "?tenant=" + url.QueryEscape(tenant)
	}
	out := r.must(200, "GET", path, "op_test", "")
	now, err := time.Parse(time.RFC3339Nano, out["now"].(string))
	if err != nil {
		r.t.Fatal(err)
	}
	frozen, _ := out["frozen"].(bool)
	return now, frozen
}

// testStateSurvivesARestart: a tenant created at run time (its tokens,
// policy and self_review), the sandbox clock's offset, a tenant's frozen
// clock and a fault rule with its counters are what the next start on the
// same store finds.
func testStateSurvivesARestart(t *testing.T, open func() *replica) {
	first := open()
	created := first.must(201, "POST", "/_sandbox/tenants", "op_test",
		`{"id":"kept","name":"Kept Ltd","self_review":true,"policy":{"approved_scopes":["cases:read"],"grant_types":["client_credentials"],"redirect_uri_patterns":[]}}`)
	admin, control := created["admin_token"].(string), created["control_token"].(string)
	first.must(200, "POST", "/_sandbox/clock", "op_test", `{"advance":"1h"}`)
	first.must(200, "POST", "/_sandbox/clock", control, `{"freeze":true,"advance":"48h"}`)
	tenantAt, _ := first.clockAt("kept")
	first.must(201, "POST", "/_sandbox/faults", "op_test",
		`{"name":"twice","match":{"operation":"listApps","tenant":"kept"},"when":{"first":2},"action":{"error":{"status":503}}}`)
	first.must(503, "GET", "/v1/platform/apps", admin, "")
	first.sb.Close()

	second := open()
	second.must(200, "GET", "/_sandbox/clock", control, "")
	out := second.must(200, "GET", "/_sandbox/tenants/kept", "op_test", "")
	if out["self_review"] != true || out["name"] != "Kept Ltd" {
		t.Errorf("the tenant after a restart = %v", out)
	}
	if now, frozen := second.clockAt("kept"); !frozen || !now.Equal(tenantAt) {
		t.Errorf("the tenant's clock after a restart = %v (frozen %v), want %v frozen", now, frozen, tenantAt)
	}
	if now, frozen := second.clockAt(""); frozen || now.Before(time.Now().Add(59*time.Minute)) || now.After(time.Now().Add(2*time.Hour)) {
		t.Errorf("the sandbox clock after a restart = %v (frozen %v), want an hour ahead, running", now, frozen)
	}
	rule := second.must(200, "GET", "/_sandbox/faults/twice", "op_test", "")
	if rule["fired"] != 1.0 || rule["matched"] != 1.0 {
		t.Errorf("the fault rule after a restart = %v, want 1 match and 1 firing", rule)
	}
	second.must(503, "GET", "/v1/platform/apps", admin, "")
	second.must(200, "GET", "/v1/platform/apps", admin, "")
	// The tenant's deletion is durable too: its clock and tokens go.
	second.must(204, "DELETE", "/_sandbox/tenants/kept", "op_test", "")
	second.sb.Close()
	third := open()
	third.must(401, "GET", "/v1/platform/apps", admin, "")
	third.must(401, "GET", "/_sandbox/clock", control, "")
	third.must(404, "GET", "/_sandbox/tenants/kept", "op_test", "")
}

func TestDataDirKeepsTenantsClocksAndFaults(t *testing.T) {
	dir := t.TempDir()
	testStateSurvivesARestart(t, func() *replica { return openReplica(t, dir, "") })
}

func TestDatabaseURLKeepsTenantsClocksAndFaults(t *testing.T) {
	u := pgtest.Database(t)
	testStateSurvivesARestart(t, func() *replica { return openReplica(t, "", u) })
}

// TestReplicasShareTokensRevocationsTenantsAndTime: two sandboxes on one
// PostgreSQL database are one sandbox. An app created on A mints a token
// on B that A accepts; revoked on B, A refuses it on the very next
// request (the verifier's cache of signatures does not hide it). A tenant
// created on A authenticates on B, a clock moved on B reads the same on A
// at the next request, and a tenant deleted on B no longer authenticates
// on A, which had it cached.
func TestReplicasShareTokensRevocationsTenantsAndTime(t *testing.T) {
	u := pgtest.Database(t)
	a, b := openReplica(t, "", u), openReplica(t, "", u)
	app := a.must(201, "POST", "/v1/platform/apps", "sandbox_admin_acme",
		`{"name":"Replicated","grant_types":["client_credentials"],"requested_scopes":["webhooks:read"]}`)
	id, secret := app["client_id"].(string), app["client_secret"].(string)
	creds := url.Values{"client_id": {id}, "client_secret": {secret}}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"webhooks:read"}, "client_id": {id}, "client_secret": {secret}}
	tok := b.must(200, "POST", "/v1/oauth/token", "", "form:"+form.Encode())["access_token"].(string)
	a.must(200, "GET", "/v1/webhooks", tok, "")
	a.must(200, "GET", "/v1/webhooks", tok, "") // now in A's verifier cache
	creds.Set("token", tok)
	b.must(200, "POST", "/v1/oauth/revoke", "", "form:"+creds.Encode())
	a.must(401, "GET", "/v1/webhooks", tok, "")

	created := a.must(201, "POST", "/_sandbox/tenants", "op_test", `{"id":"shared","name":"Shared"}`)
	b.must(200, "GET", "/v1/platform/apps", created["admin_token"].(string), "")
	b.must(200, "POST", "/_sandbox/clock", created["control_token"].(string), `{"freeze":true,"advance":"72h"}`)
	atB, _ := b.clockAt("shared")
	if atA, frozen := a.clockAt("shared"); !frozen || !atA.Equal(atB) {
		t.Errorf("A reads the tenant's clock at %v (frozen %v), B moved it to %v", atA, frozen, atB)
	}
	// A has made the clock of a tenant B has not; B's change of every clock
	// moves it on A too.
	a.must(201, "POST", "/_sandbox/tenants", "op_test", `{"id":"only-on-a","name":"Only on A"}`)
	a.clockAt("only-on-a")
	b.must(200, "POST", "/_sandbox/clock", "op_test", `{"freeze":true,"set":"2031-01-02T03:04:05Z"}`)
	for _, tenant := range []string{"", "only-on-a"} {
		if atA, frozen := a.clockAt(tenant); !frozen || !atA.Equal(time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("A reads the clock of %q at %v (frozen %v) after B set every clock", tenant, atA, frozen)
		}
	}
	// A caches the tenants it has found; a deletion on B empties that cache
	// before A's next request.
	a.must(200, "GET", "/v1/platform/apps", created["admin_token"].(string), "")
	a.must(200, "GET", "/_sandbox/clock", created["control_token"].(string), "")
	b.must(204, "DELETE", "/_sandbox/tenants/shared", "op_test", "")
	a.must(401, "GET", "/v1/platform/apps", created["admin_token"].(string), "")
	a.must(401, "GET", "/_sandbox/clock", created["control_token"].(string), "")
}

// testTokensFollowTheirApp: on a durable store, where the verifier reads a
// token's record and its app in one statement, a token issued on replica a
// works on b until the app loses the token's scope on a (then b refuses
// the operation at once and introspection shows the scope the app kept),
// is revoked on a, or its app is deleted on a. a and b may be one sandbox.
func testTokensFollowTheirApp(t *testing.T, a, b *replica) {
	app := a.must(201, "POST", "/v1/platform/apps", "sandbox_admin_acme",
		`{"name":"Followed","grant_types":["client_credentials"],"requested_scopes":["webhooks:read","cases:read"]}`)
	appPath := "/v1/platform/apps/" + app["id"].(string)
	with := func(v url.Values) string {
		v.Set("client_id", app["client_id"].(string))
		v.Set("client_secret", app["client_secret"].(string))
		return "form:" + v.Encode()
	}
	token := func() string {
		return a.must(200, "POST", "/v1/oauth/token", "", with(url.Values{"grant_type": {"client_credentials"}}))["access_token"].(string)
	}
	introspect := func(tok string) map[string]any {
		return b.must(200, "POST", "/v1/oauth/introspect", "", with(url.Values{"token": {tok}}))
	}
	tok := token()
	b.must(200, "GET", "/v1/webhooks", tok, "")
	a.must(200, "PATCH", appPath, "sandbox_admin_acme", `{"requested_scopes":["cases:read"]}`)
	b.must(403, "GET", "/v1/webhooks", tok, "")
	if out := introspect(tok); out["active"] != true || out["scope"] != "cases:read" {
		t.Errorf("introspection of a token whose app lost webhooks:read: %v", out)
	}
	a.must(200, "POST", "/v1/oauth/revoke", "", with(url.Values{"token": {tok}}))
	b.must(401, "GET", "/v1/webhooks", tok, "")
	if out := introspect(tok); out["active"] != false {
		t.Errorf("introspection of a revoked token: %v", out)
	}
	a.must(200, "PATCH", appPath, "sandbox_admin_acme", `{"requested_scopes":["webhooks:read","cases:read"]}`)
	tok = token()
	b.must(200, "GET", "/v1/webhooks", tok, "")
	a.must(204, "DELETE", appPath, "sandbox_admin_acme", "")
	b.must(401, "GET", "/v1/webhooks", tok, "")
}

func TestTokensFollowTheirAppSQLite(t *testing.T) {
	r := openReplica(t, t.TempDir(), "")
	testTokensFollowTheirApp(t, r, r)
}

func TestTokensFollowTheirAppPostgres(t *testing.T) {
	u := pgtest.Database(t)
	testTokensFollowTheirApp(t, openReplica(t, "", u), openReplica(t, "", u))
}

// testRoundTrips counts the statements a request sends to the database,
// once the statements are prepared, the tenants cached and the apps and
// tokens read once (sqlstore remembers those answers until a write that
// could change them): a validated GET with an administrator token (none:
// the app is remembered) and with an access token (the list alone: the
// token's revocation, its grant and its app are remembered), and a
// client_credentials token request (none: the app is remembered, the
// journal's question of the client's tenant is answered from memory, and
// a client's own token is not recorded). extra is what the engine adds to
// each: on PostgreSQL the shared versions, which tell whether anything
// remembered changed. A read that comes back fails it.
func testRoundTrips(t *testing.T, r *replica, extra int64) {
	app := r.must(201, "POST", "/v1/platform/apps", "sandbox_admin_acme",
		`{"name":"Counted","grant_types":["client_credentials"],"requested_scopes":["webhooks:read"]}`)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"webhooks:read"},
		"client_id": {app["client_id"].(string)}, "client_secret": {app["client_secret"].(string)}}.Encode()
	tok := r.must(200, "POST", "/v1/oauth/token", "", "form:"+form)["access_token"].(string)
	for _, tc := range []struct {
		name                string
		method, path, token string
		body                string
		want                int
		max                 int64
	}{
		{"validated GET, admin token", "GET", "/v1/platform/apps/" + app["id"].(string), "sandbox_admin_acme", "", 200, 0 + extra},
		{"validated GET, access token", "GET", "/v1/webhooks", tok, "", 200, 1 + extra},
		{"token request", "POST", "/v1/oauth/token", "", "form:" + form, 200, 0 + extra},
		// Scope discovery reads the tenant's access requests once, not once
		// per partner scope.
		{"scope discovery, admin token", "GET", "/v1/platform/scopes", "sandbox_admin_acme", "", 200, 1 + extra},
		{"scope discovery, access token", "GET", "/v1/platform/scopes", tok, "", 200, 1 + extra},
	} {
		r.must(tc.want, tc.method, tc.path, tc.token, tc.body) // prepares and caches
		before := r.sb.RoundTrips()
		r.must(tc.want, tc.method, tc.path, tc.token, tc.body)
		n := r.sb.RoundTrips() - before
		t.Logf("%s: %d round trips", tc.name, n)
		if n > tc.max {
			t.Errorf("%s: %d round trips, want at most %d", tc.name, n, tc.max)
		}
	}
	testGrantRoundTrips(t, r, extra)
}

// testGrantRoundTrips counts the token requests of a user's grant: an
// authorization code exchange (the code's redemption, a read and a
// conditional write; the grant, the access token's record and the
// refresh token, one insert each; the app is remembered) and a refresh
// (the refresh token and its grant; the rotation, a read and a
// conditional write; the grant's new expiry, the same; the access token's
// record and the new refresh token).
func testGrantRoundTrips(t *testing.T, r *replica, extra int64) {
	app := r.must(201, "POST", "/v1/platform/apps", "sandbox_admin_acme",
		`{"name":"Counted grant","grant_types":["authorization_code","refresh_token"],"requested_scopes":["cases:read"],"redirect_uris":["http://127.0.0.1/callback"]}`)
	creds := url.Values{"client_id": {app["client_id"].(string)}, "client_secret": {app["client_secret"].(string)}}
	token := func(v url.Values) string {
		for k, vs := range creds {
			v[k] = vs
		}
		return r.must(200, "POST", "/v1/oauth/token", "", "form:"+v.Encode())["refresh_token"].(string)
	}
	code := func() string {
		req := httptest.NewRequest("GET", "/v1/oauth/authorize?"+url.Values{"response_type": {"code"}, "client_id": creds["client_id"],
			"redirect_uri": {"http://127.0.0.1/callback"}, "scope": {"cases:read"}, "state": {"s"}, "login_hint": {"bob@acme.example"}}.Encode(), nil)
		req.Host = "127.0.0.1:8080"
		rec := httptest.NewRecorder()
		r.sb.Handler().ServeHTTP(rec, req)
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil || loc.Query().Get("code") == "" {
			t.Fatalf("authorize: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
		}
		return loc.Query().Get("code")
	}
	exchange := func(c string) string {
		return token(url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {"http://127.0.0.1/callback"}})
	}
	refresh := func(rt string) string {
		return token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}
	refresh(exchange(code())) // prepares
	c := code()
	for _, tc := range []struct {
		name string
		do   func()
		max  int64
	}{
		{"authorization code exchange", func() { c = exchange(c) }, 5 + extra},
		{"refresh", func() { refresh(c) }, 8 + extra},
	} {
		before := r.sb.RoundTrips()
		tc.do()
		n := r.sb.RoundTrips() - before
		t.Logf("%s: %d round trips", tc.name, n)
		if n > tc.max {
			t.Errorf("%s: %d round trips, want at most %d", tc.name, n, tc.max)
		}
	}
}

func TestRoundTripsSQLite(t *testing.T) { testRoundTrips(t, openReplica(t, t.TempDir(), ""), 0) }

func TestRoundTripsPostgres(t *testing.T) {
	testRoundTrips(t, openReplica(t, "", pgtest.Database(t)), 1)
}

// TestReplicasShareKeyRotationsAndFaultRules: a key rotated on replica A
// signs tokens replica B verifies at its next request, and B's JWKS lists
// it; a fault rule added on A acts on B at its next request, and deleted
// on B no longer acts on A.
func TestReplicasShareKeyRotationsAndFaultRules(t *testing.T) {
	u := pgtest.Database(t)
	a, b := openReplica(t, "", u), openReplica(t, "", u)
	app := a.must(201, "POST", "/v1/platform/apps", "sandbox_admin_acme",
		`{"name":"Rotated","grant_types":["client_credentials"],"requested_scopes":["webhooks:read"]}`)
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"webhooks:read"},
		"client_id": {app["client_id"].(string)}, "client_secret": {app["client_secret"].(string)}}.Encode()
	b.must(200, "GET", "/.well-known/jwks.json", "", "") // B has served its keys before the rotation

	kid := a.must(200, "POST", "/_sandbox/keys/rotate", "op_test", "")["kid"].(string)
	tok := a.must(200, "POST", "/v1/oauth/token", "", "form:"+form)["access_token"].(string)
	b.must(200, "GET", "/v1/webhooks", tok, "")
	found := false
	for _, k := range b.must(200, "GET", "/.well-known/jwks.json", "", "")["keys"].([]any) {
		found = found || k.(map[string]any)["kid"] == kid
	}
	if !found {
		t.Errorf("B's JWKS lacks the key %s rotated on A", kid)
	}
	// A rule rotating the keys, fired on B, reaches A the same way.
	b.must(201, "POST", "/_sandbox/faults", "op_test",
		`{"name":"rotate","match":{"operation":"listScopes"},"when":{"first":1},"action":{"rotate_keys":{}}}`)
	b.must(200, "GET", "/v1/platform/scopes", "sandbox_admin_acme", "")
	if rule := b.must(200, "GET", "/_sandbox/faults/rotate", "op_test", ""); rule["fired"] != 1.0 {
		t.Fatalf("the rotating rule = %v, want it fired once", rule)
	}
	tok = b.must(200, "POST", "/v1/oauth/token", "", "form:"+form)["access_token"].(string)
	a.must(200, "GET", "/v1/webhooks", tok, "")
	b.must(204, "DELETE", "/_sandbox/faults/rotate", "op_test", "")

	a.must(201, "POST", "/_sandbox/faults", "op_test",
		`{"name":"down","match":{"operation":"token"},"action":{"error":{"status":503}}}`)
	b.must(503, "POST", "/v1/oauth/token", "", "form:"+form)
	b.must(204, "DELETE", "/_sandbox/faults/down", "op_test", "")
	a.must(200, "POST", "/v1/oauth/token", "", "form:"+form)
}
