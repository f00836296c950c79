package emulator_test

import (
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/knogin/argus-sandbox/internal/pgtest"
)

// testRememberedAnswersFollowWrites: a durable store remembers the apps
// and the access tokens requests authenticate with, so b answers each
// second read below without a statement; every write on a that changes
// such an answer shows on b's very next request: an app renamed, a
// client secret rotated away, a scope removed, a user's grant revoked, a
// tenant deleted, the sandbox reset. a and b may be one sandbox.
func testRememberedAnswersFollowWrites(t *testing.T, a, b *replica) {
	twice := func(want int, method, path, token, body string) map[string]any {
		t.Helper()
		b.must(want, method, path, token, body)
		return b.must(want, method, path, token, body)
	}
	app := a.must(201, "POST", "/v1/platform/apps", "sandbox_admin_acme",
		`{"name":"Remembered","grant_types":["client_credentials","authorization_code","refresh_token"],"requested_scopes":["webhooks:read","cases:read"],"redirect_uris":["http://127.0.0.1/callback"]}`)
	appPath := "/v1/platform/apps/" + app["id"].(string)
	clientID := app["client_id"].(string)
	form := func(secret string, v url.Values) string {
		v.Set("client_id", clientID)
		v.Set("client_secret", secret)
		return "form:" + v.Encode()
	}
	clientCredentials := url.Values{"grant_type": {"client_credentials"}, "scope": {"webhooks:read"}}

	// An app renamed.
	twice(200, "GET", appPath, "sandbox_admin_acme", "")
	a.must(200, "PATCH", appPath, "sandbox_admin_acme", `{"name":"Renamed"}`)
	if got := b.must(200, "GET", appPath, "sandbox_admin_acme", "")["name"]; got != "Renamed" {
		t.Errorf("b reads the app's name %v after a renamed it", got)
	}

	// A client secret rotated away at once.
	old := app["client_secret"].(string)
	twice(200, "POST", "/v1/oauth/token", "", form(old, url.Values{"grant_type": {"client_credentials"}}))
	fresh := a.must(201, "POST", appPath+"/secrets", "sandbox_admin_acme", `{"grace_period_seconds":0}`)["client_secret"].(string)
	b.must(401, "POST", "/v1/oauth/token", "", form(old, url.Values{"grant_type": {"client_credentials"}}))
	tok := b.must(200, "POST", "/v1/oauth/token", "", form(fresh, clientCredentials))["access_token"].(string)

	// A scope removed from the app, then given back.
	twice(200, "GET", "/v1/webhooks", tok, "")
	a.must(200, "PATCH", appPath, "sandbox_admin_acme", `{"requested_scopes":["cases:read"]}`)
	b.must(403, "GET", "/v1/webhooks", tok, "")
	a.must(200, "PATCH", appPath, "sandbox_admin_acme", `{"requested_scopes":["webhooks:read","cases:read"]}`)
	b.must(200, "GET", "/v1/webhooks", tok, "")

	// A user's grant revoked through its refresh token: the grant's access
	// token stops.
	req := httptest.NewRequest("GET", "/v1/oauth/authorize?"+url.Values{"response_type": {"code"}, "client_id": {clientID},
		"redirect_uri": {"http://127.0.0.1/callback"}, "scope": {"cases:read"}, "state": {"s"}, "login_hint": {"bob@acme.example"}}.Encode(), nil)
	req.Host = "127.0.0.1:8080"
	rec := httptest.NewRecorder()
	a.sb.Handler().ServeHTTP(rec, req)
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	pair := a.must(200, "POST", "/v1/oauth/token", "", form(fresh, url.Values{"grant_type": {"authorization_code"},
		"code": {loc.Query().Get("code")}, "redirect_uri": {"http://127.0.0.1/callback"}}))
	user := pair["access_token"].(string)
	twice(200, "GET", "/v1/platform/scopes", user, "")
	a.must(200, "POST", "/v1/oauth/revoke", "", form(fresh, url.Values{"token": {pair["refresh_token"].(string)}}))
	b.must(401, "GET", "/v1/platform/scopes", user, "")

	// A tenant deleted: its apps' tokens stop.
	created := a.must(201, "POST", "/_sandbox/tenants", "op_test", `{"id":"remembered","name":"Remembered"}`)
	other := a.must(201, "POST", "/v1/platform/apps", created["admin_token"].(string),
		`{"name":"Doomed","grant_types":["client_credentials"],"requested_scopes":["webhooks:read"]}`)
	doomed := a.must(200, "POST", "/v1/oauth/token", "", "form:"+url.Values{"grant_type": {"client_credentials"}, "scope": {"webhooks:read"},
		"client_id": {other["client_id"].(string)}, "client_secret": {other["client_secret"].(string)}}.Encode())["access_token"].(string)
	twice(200, "GET", "/v1/webhooks", doomed, "")
	a.must(204, "DELETE", "/_sandbox/tenants/remembered", "op_test", "")
	b.must(401, "GET", "/v1/webhooks", doomed, "")

	// The sandbox reset: apps made since the fixtures are gone, and so are
	// their tokens.
	twice(200, "GET", "/v1/webhooks", tok, "")
	twice(200, "GET", appPath, "sandbox_admin_acme", "")
	a.must(200, "POST", "/_sandbox/reset", "op_test", "")
	b.must(401, "GET", "/v1/webhooks", tok, "")
	b.must(404, "GET", appPath, "sandbox_admin_acme", "")
}

func TestRememberedAnswersFollowWritesSQLite(t *testing.T) {
	r := openReplica(t, t.TempDir(), "")
	testRememberedAnswersFollowWrites(t, r, r)
}

func TestRememberedAnswersFollowWritesPostgres(t *testing.T) {
	u := pgtest.Database(t)
	testRememberedAnswersFollowWrites(t, openReplica(t, "", u), openReplica(t, "", u))
}
