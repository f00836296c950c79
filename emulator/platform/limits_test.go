package platform_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/platform"
)

// answer is one reply of a concurrent request.
type answer struct {
	status int
	body   map[string]any
}

// parallel sends n requests at once (goroutine-safe: no t.Fatal) and
// returns the replies.
func (e *env) parallel(n int, method, path, body string) []answer {
	out := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+acme)
			req.Header.Set("Content-Type", "application/json")
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				e.t.Error(err)
				return
			}
			defer resp.Body.Close()
			out[i].status = resp.StatusCode
			_ = json.NewDecoder(resp.Body).Decode(&out[i].body)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// wantLimit checks a reply is the documented refusal naming the limit.
func wantLimit(t *testing.T, status int, body map[string]any, limit string) {
	t.Helper()
	detail, _ := body["detail"].(string)
	if status != http.StatusConflict || body["code"] != "limit_reached" || !strings.Contains(detail, limit) {
		t.Errorf("reply = %d %v, want 409 limit_reached naming %q", status, body, limit)
	}
}

// countCreated counts 201 replies and checks every other one is the
// limit's refusal.
func countCreated(t *testing.T, answers []answer, limit string) int {
	t.Helper()
	created := 0
	for _, a := range answers {
		if a.status == http.StatusCreated {
			created++
			continue
		}
		wantLimit(t, a.status, a.body, limit)
	}
	return created
}

func TestAppLimitUnderConcurrentCreates(t *testing.T) {
	const limit = 5
	e := newEnvLimits(t, platform.Limits{AppsPerTenant: limit})
	answers := e.parallel(limit+70, "POST", "/v1/platform/apps", portalExample)
	if n := countCreated(t, answers, "5 apps per tenant"); n != limit {
		t.Errorf("%d apps created, want %d", n, limit)
	}
	_, _, list := e.do("GET", "/v1/platform/apps?limit=100", acme, "", "")
	if n := len(list["data"].([]any)); n != limit {
		t.Errorf("%d apps listed, want %d", n, limit)
	}
	e.createApp(globex, portalExample) // another tenant has its own count
	id := list["data"].([]any)[0].(map[string]any)["id"].(string)
	if st, _, _ := e.do("DELETE", "/v1/platform/apps/"+id, acme, "", ""); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	e.createApp(acme, portalExample)
	st, _, out := e.do("POST", "/v1/platform/apps", acme, "application/json", portalExample)
	wantLimit(t, st, out, "5 apps per tenant")
}

func TestSecretRotationLimit(t *testing.T) {
	e := newEnvLimits(t, platform.Limits{SecretsPerApp: 3})
	app := e.createApp(acme, portalExample)
	id, cid, first := app["id"].(string), app["client_id"].(string), app["client_secret"].(string)
	rotate := func(grace int) (int, map[string]any) {
		st, _, out := e.do("POST", "/v1/platform/apps/"+id+"/secrets", acme, "application/json", fmt.Sprintf(`{"grace_period_seconds":%d}`, grace))
		return st, out
	}
	for range 2 { // 2 and then 3 live secrets
		if st, out := rotate(3600); st != 201 {
			t.Fatalf("rotate: %d %v", st, out)
		}
	}
	st, out := rotate(3600)
	wantLimit(t, st, out, "3 live client secrets per app")
	_, _, list := e.do("GET", "/v1/platform/apps/"+id+"/secrets", acme, "", "")
	if n := len(list["data"].([]any)); n != 3 {
		t.Errorf("%d secrets after the refused rotation, want 3", n)
	}
	if ok, _ := e.svc.CheckSecret(t.Context(), cid, first); !ok {
		t.Error("the refused rotation ended a secret in its grace period")
	}
	// Without grace the current secret ends now, which makes room.
	if st, out := rotate(0); st != 201 {
		t.Fatalf("rotate without grace: %d %v", st, out)
	}
	st, out = rotate(60)
	wantLimit(t, st, out, "3 live client secrets per app")
	// Once the grace periods are over, rotation works again.
	e.clock.Advance(time.Hour + time.Second)
	if st, out := rotate(3600); st != 201 || len(out["secrets"].([]any)) != 2 {
		t.Errorf("rotate after the grace periods: %d %v", st, out)
	}
}

func TestServiceTokenLimit(t *testing.T) {
	const limit = 2
	e := newEnvLimits(t, platform.Limits{ServiceTokensPerApp: limit})
	id := e.createApp(acme, portalExample)["id"].(string)
	path := "/v1/platform/apps/" + id + "/service-tokens"
	mint := `{"ttl_seconds":600}`
	answers := e.parallel(limit+70, "POST", path, mint)
	if n := countCreated(t, answers, "2 active service tokens per app"); n != limit {
		t.Errorf("%d tokens minted, want %d", n, limit)
	}
	// A token minted while the limit was taken by a concurrent request is
	// revoked, not left working behind the refusal.
	e.minter.mu.Lock()
	minted, revoked := e.minter.minted, len(e.minter.revoked)
	e.minter.mu.Unlock()
	if minted-revoked != limit {
		t.Errorf("minted %d and revoked %d tokens: %d left working, want %d", minted, revoked, minted-revoked, limit)
	}
	// At the limit, nothing is minted.
	st, _, out := e.do("POST", path, acme, "application/json", mint)
	wantLimit(t, st, out, "2 active service tokens per app")
	e.minter.mu.Lock()
	if e.minter.minted != minted {
		t.Error("a token was minted for a refused request")
	}
	e.minter.mu.Unlock()
	// Revoking one makes room; the revoked record gives way to the new one.
	_, _, list := e.do("GET", path, acme, "", "")
	tok := list["data"].([]any)[0].(map[string]any)["id"].(string)
	if st, _, _ := e.do("DELETE", path+"/"+tok, acme, "", ""); st != 204 {
		t.Fatalf("revoke: %d", st)
	}
	if st, _, out := e.do("POST", path, acme, "application/json", mint); st != 201 {
		t.Fatalf("mint after a revocation: %d %v", st, out)
	}
	_, _, list = e.do("GET", path, acme, "", "")
	if n := len(list["data"].([]any)); n != limit {
		t.Errorf("%d token records kept, want %d", n, limit)
	}
	// Expired tokens make room too.
	e.clock.Advance(601 * time.Second)
	for range limit {
		if st, _, out := e.do("POST", path, acme, "application/json", mint); st != 201 {
			t.Fatalf("mint after expiry: %d %v", st, out)
		}
	}
}

func TestAccessRequestLimit(t *testing.T) {
	e := newEnvLimits(t, platform.Limits{AccessRequestsPerTenant: 2})
	body := `{"capability":"federation","use_case":"Federate cases with our regional partner agency."}`
	answers := e.parallel(2+70, "POST", "/v1/platform/access-requests", body)
	if n := countCreated(t, answers, "2 access requests per tenant"); n != 2 {
		t.Errorf("%d access requests created, want 2", n)
	}
	_, _, list := e.do("GET", "/v1/platform/access-requests", acme, "", "")
	if n := len(list["data"].([]any)); n != 2 {
		t.Errorf("%d access requests listed, want 2", n)
	}
}

// TestAuditRetentionPaging: the trail keeps the newest events, and a
// client paging through it while events are added and the oldest dropped
// neither skips nor repeats a retained event (offset cursors would skip
// as many as were dropped).
func TestAuditRetentionPaging(t *testing.T) {
	const retention = 5
	e := newEnvLimits(t, platform.Limits{AuditEventsPerTenant: retention})
	var apps []string // app.created targets, in order
	create := func(n int) {
		for range n {
			apps = append(apps, e.createApp(acme, portalExample)["id"].(string))
		}
	}
	page := func(cursor string) ([]string, string) {
		st, _, out := e.do("GET", "/v1/platform/audit-events?limit=2&cursor="+cursor, acme, "", "")
		if st != 200 {
			t.Fatalf("audit page: %d %v", st, out)
		}
		var targets []string
		for _, ev := range out["data"].([]any) {
			targets = append(targets, ev.(map[string]any)["target"].(string))
		}
		next, _ := out["next_cursor"].(string)
		return targets, next
	}
	create(retention + 2)
	all, next := page("")
	for next != "" {
		var more []string
		more, next = page(next)
		all = append(all, more...)
	}
	if want := apps[2:]; strings.Join(all, ",") != strings.Join(want, ",") {
		t.Fatalf("trail = %v, want the newest %d events %v", all, retention, want)
	}

	// Page while the trail moves: each page starts right after the last
	// event served, or at the oldest one still kept.
	seen, next := page("")
	create(3) // drops the two events just served and one more
	for next != "" {
		var more []string
		more, next = page(next)
		seen = append(seen, more...)
	}
	want := append([]string{apps[2], apps[3]}, apps[5:]...)
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Errorf("paging while events were dropped served %v, want %v", seen, want)
	}
}
