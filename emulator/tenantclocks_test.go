package emulator_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// moveClock moves one tenant's clock through the control plane.
func (e *sandboxEnv) moveClock(t *testing.T, tenant, update string) {
	t.Helper()
	e.control(t, "/_sandbox/clock", `{"tenant":"`+tenant+`",`+update+`}`)
}

// TestIdempotencyKeysLiveOnTheTenantsClock: a key lives 24 hours of its
// tenant's time, so a partner moving its own clock a day ahead forgets
// its keys, and another tenant's are kept.
func TestIdempotencyKeysLiveOnTheTenantsClock(t *testing.T) {
	e := newSandbox(t)
	for _, admin := range []string{"sandbox_admin_acme", "sandbox_admin_globex"} {
		if st, _, _ := e.keyed(t, http.MethodPost, "/v1/platform/apps", admin, "k-1", appBody); st != 201 {
			t.Fatalf("%s: first create: %d", admin, st)
		}
	}
	e.moveClock(t, "acme", `"advance":"25h"`)
	if st, rep, _ := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", "k-1", appBody); st != 201 || rep != "" {
		t.Errorf("acme after 25 h of its time: %d replayed=%q, want a new create", st, rep)
	}
	if st, rep, _ := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_globex", "k-1", appBody); st != 201 || rep != "true" {
		t.Errorf("globex, whose clock did not move: %d replayed=%q, want the replay", st, rep)
	}
}

// TestTenantFaultWindowIsOnTheTenantsClock: a rule matching a tenant
// opens its window (from) on the tenant's clock.
func TestTenantFaultWindowIsOnTheTenantsClock(t *testing.T) {
	e := newSandbox(t)
	e.control(t, "/_sandbox/faults", `{"name":"acme-later","match":{"tenant":"acme","operation":"listApps"},
		"when":{"from":"1h"},"action":{"error":{"status":503}}}`)
	list := func() int {
		t.Helper()
		resp, _ := e.call(t, http.MethodGet, "/v1/platform/apps", "sandbox_admin_acme", "")
		return resp.StatusCode
	}
	if got := list(); got != 200 {
		t.Fatalf("before the window: %d", got)
	}
	e.moveClock(t, "acme", `"advance":"2h"`)
	if got := list(); got != 503 {
		t.Errorf("acme's clock inside the window: %d, want 503", got)
	}
}

// TestPruningKeepsWhatATenantsClockStillNeeds: a tenant whose clock is
// set well behind the sandbox clock keeps a refresh token live in its
// time, though it expired in sandbox and real time, across pruning.
func TestPruningKeepsWhatATenantsClockStillNeeds(t *testing.T) {
	e := newSandbox(t)
	e.moveClock(t, "acme", `"set":"`+time.Now().Add(-40*24*time.Hour).UTC().Format(time.RFC3339)+`"`)
	resp, app := e.post(t, "/v1/platform/apps", "application/json", "sandbox_admin_acme",
		`{"name":"Back in time","grant_types":["authorization_code","refresh_token"],"requested_scopes":["cases:read"],"redirect_uris":["http://127.0.0.1/callback"]}`)
	if resp.StatusCode != 201 {
		t.Fatalf("create app: %d %v", resp.StatusCode, app)
	}
	id, secret := app["client_id"].(string), app["client_secret"].(string)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noRedirect.Get(e.url + "/v1/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {id},
		"redirect_uri": {"http://127.0.0.1/callback"}, "scope": {"cases:read"}, "state": {"s"}, "login_hint": {"bob@acme.example"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc, _ := url.Parse(res.Header.Get("Location"))
	resp, tok := e.tokenRequest(t, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {"http://127.0.0.1/callback"}, "client_id": {id}, "client_secret": {secret}})
	if resp.StatusCode != 200 {
		t.Fatalf("code exchange: %d %v", resp.StatusCode, tok)
	}
	// Every clock a few minutes on, then a token request, which prunes.
	e.control(t, "/_sandbox/clock", `{"advance":"2m"}`)
	e.createApp(t, "cases:read")
	_, other, otherSecret := e.createApp(t, "cases:read")
	e.tokenRequest(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {other}, "client_secret": {otherSecret}})
	resp, out := e.tokenRequest(t, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)},
		"client_id": {id}, "client_secret": {secret}})
	if resp.StatusCode != 200 {
		t.Errorf("refresh, live on acme's clock: %d %v", resp.StatusCode, out)
	}
}

// TestJournalStampsATenantsRequestsOnItsClock: a tenant's journal entries
// carry its own time, so since follows the clock it set.
func TestJournalStampsATenantsRequestsOnItsClock(t *testing.T) {
	e := newSandbox(t)
	e.moveClock(t, "acme", `"advance":"72h"`)
	e.call(t, http.MethodGet, "/v1/platform/apps", "sandbox_admin_acme", "")
	resp, out := e.call(t, http.MethodGet, "/_sandbox/requests?tenant=acme&operation=listApps", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("journal: %d %v", resp.StatusCode, out)
	}
	raw, _ := json.Marshal(out["requests"])
	var entries []struct{ Time time.Time }
	if err := json.Unmarshal(raw, &entries); err != nil || len(entries) != 1 {
		t.Fatalf("entries %s: %v", raw, err)
	}
	if ahead := time.Until(entries[0].Time); ahead < 71*time.Hour || ahead > 73*time.Hour {
		t.Errorf("acme's request stamped %v, %v from now; want about 72 h ahead (acme's clock)", entries[0].Time, ahead)
	}
}
