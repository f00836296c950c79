package emulator_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/emulator/sqlstore"
	"github.com/knogin/argus-sandbox/internal/pgtest"
)

// openReplicaWith is openReplica on the PostgreSQL database at
// databaseURL with cfg's other settings.
func openReplicaWith(t *testing.T, databaseURL string, cfg emulator.Config) *replica {
	t.Helper()
	cfg.Issuer, cfg.DatabaseURL, cfg.OperatorToken = "http://127.0.0.1:8080", databaseURL, "op_test"
	sb, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	return &replica{t: t, sb: sb}
}

// tokenForm makes an app on r that may use client_credentials and
// returns its token request's form.
func tokenForm(r *replica) string {
	app := r.must(201, "POST", "/v1/platform/apps", "sandbox_admin_acme",
		`{"name":"Replicated","grant_types":["client_credentials"],"requested_scopes":["webhooks:read"]}`)
	return "form:" + url.Values{"grant_type": {"client_credentials"}, "scope": {"webhooks:read"},
		"client_id": {app["client_id"].(string)}, "client_secret": {app["client_secret"].(string)}}.Encode()
}

// jwksKids lists the kids r's JWKS publishes.
func jwksKids(r *replica) map[string]bool {
	out := map[string]bool{}
	for _, k := range r.must(200, "GET", "/.well-known/jwks.json", "", "")["keys"].([]any) {
		out[k.(map[string]any)["kid"].(string)] = true
	}
	return out
}

// storedKeyGenerations reads the generation of the newest signing key the
// database at u keeps: one per key ever made current.
func storedKeyGenerations(t *testing.T, u string) uint64 {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{DatabaseURL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	data, err := db.Keys().LoadKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var snap struct {
		LastGen uint64 `json:"last_gen"`
	}
	if err := json.Unmarshal(data, &snap); err != nil {
		t.Fatal(err)
	}
	return snap.LastGen
}

// TestReplicasRotateKeysOnceOnSchedule: three replicas with --key-rotation
// of a minute rotate once per minute between them, whichever replica moves
// the clock: every replica's timer fires, and one rotation is stored per
// period. Tokens minted on any replica verify on every one.
func TestReplicasRotateKeysOnceOnSchedule(t *testing.T) {
	u := pgtest.Database(t)
	cfg := emulator.Config{KeyRotation: time.Minute}
	reps := []*replica{openReplicaWith(t, u, cfg), openReplicaWith(t, u, cfg), openReplicaWith(t, u, cfg)}
	reps[0].must(200, "POST", "/_sandbox/clock", "op_test", `{"freeze":true}`)
	form := tokenForm(reps[0])
	start := storedKeyGenerations(t, u)
	var tokens []string
	for period := 1; period <= 3; period++ {
		reps[period%3].must(200, "POST", "/_sandbox/clock", "op_test", `{"advance":"1m"}`)
		kids := map[string]bool{}
		for _, r := range reps {
			tok := r.must(200, "POST", "/v1/oauth/token", "", form)["access_token"].(string)
			tokens = append(tokens, tok)
			kids[tokenKID(t, tok)] = true
		}
		time.Sleep(100 * time.Millisecond) // the timers the clock's restore fired
		if got := storedKeyGenerations(t, u); got != start+uint64(period) {
			t.Fatalf("after %d periods the keys were rotated %d times, want %d", period, got-start, period)
		}
		if len(kids) != 1 {
			t.Errorf("period %d: the replicas sign with %d keys, want one", period, len(kids))
		}
	}
	for _, tok := range tokens {
		for i, r := range reps {
			if code, out := r.do("GET", "/v1/webhooks", tok, ""); code != 200 {
				t.Errorf("a token of kid %s fails on replica %d: %d %v", tokenKID(t, tok), i, code, out)
			}
		}
	}
}

// TestReplicasKeepARetiredKeyWhileItsTokensLive: a token B signed just
// before A rotated keeps verifying on A and B, and its key stays in both
// JWKS, after A rotates again and prunes, until the token expires; then
// the key goes.
func TestReplicasKeepARetiredKeyWhileItsTokensLive(t *testing.T) {
	u := pgtest.Database(t)
	a := openReplicaWith(t, u, emulator.Config{})
	b := openReplicaWith(t, u, emulator.Config{})
	a.must(200, "POST", "/_sandbox/clock", "op_test", `{"freeze":true}`)
	form := tokenForm(a)
	tok := b.must(200, "POST", "/v1/oauth/token", "", form)["access_token"].(string)
	old := tokenKID(t, tok)
	a.must(200, "POST", "/_sandbox/keys/rotate", "op_test", "")
	a.must(200, "POST", "/_sandbox/clock", "op_test", `{"advance":"10m"}`)
	a.must(200, "POST", "/_sandbox/keys/rotate", "op_test", "") // prunes what has expired
	for name, r := range map[string]*replica{"A": a, "B": b} {
		if code, out := r.do("GET", "/v1/webhooks", tok, ""); code != 200 {
			t.Errorf("%s refuses B's token of the retired key while it lives: %d %v", name, code, out)
		}
		if !jwksKids(r)[old] {
			t.Errorf("%s's JWKS drops the retired key while B's token lives", name)
		}
	}
	a.must(200, "POST", "/_sandbox/clock", "op_test", `{"advance":"2h"}`)
	a.must(200, "POST", "/_sandbox/keys/rotate", "op_test", "")
	for name, r := range map[string]*replica{"A": a, "B": b} {
		if jwksKids(r)[old] {
			t.Errorf("%s's JWKS keeps the retired key after its last token expired", name)
		}
	}
}

// TestReplicasCountFaultRulesExactly: a rule limited to 3 firings,
// matched by 30 concurrent requests spread over three replicas, fires
// exactly 3 times and counts 30 matches on every replica; and a rule's
// matches move no shared version, so the other replicas reload nothing
// (a request costs them what it costs without the rule).
func TestReplicasCountFaultRulesExactly(t *testing.T) {
	u := pgtest.Database(t)
	reps := []*replica{openReplicaWith(t, u, emulator.Config{}), openReplicaWith(t, u, emulator.Config{}), openReplicaWith(t, u, emulator.Config{})}
	reps[0].must(201, "POST", "/_sandbox/faults", "op_test",
		`{"name":"thrice","match":{"operation":"listScopes"},"when":{"first":3},"action":{"error":{"status":503}}}`)
	var (
		mu    sync.Mutex
		codes = map[int]int{}
		wg    sync.WaitGroup
	)
	for i := range 30 {
		wg.Go(func() {
			code, _ := reps[i%3].do("GET", "/v1/platform/scopes", "sandbox_admin_acme", "")
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[503] != 3 || codes[200] != 27 {
		t.Errorf("30 requests over 3 replicas answered %v, want 3 × 503 and 27 × 200", codes)
	}
	for i, r := range reps {
		if rule := r.must(200, "GET", "/_sandbox/faults/thrice", "op_test", ""); rule["matched"] != 30.0 || rule["fired"] != 3.0 {
			t.Errorf("replica %d shows the rule matched %v times and fired %v, want 30 and 3", i, rule["matched"], rule["fired"])
		}
	}

	app := reps[1].must(201, "POST", "/v1/platform/apps", "sandbox_admin_acme", `{"name":"Quiet","grant_types":["client_credentials"]}`)
	get := func() int64 {
		reps[1].must(200, "GET", "/v1/platform/apps/"+app["id"].(string), "sandbox_admin_acme", "")
		before := reps[1].sb.RoundTrips()
		reps[1].must(200, "GET", "/v1/platform/apps/"+app["id"].(string), "sandbox_admin_acme", "")
		return reps[1].sb.RoundTrips() - before
	}
	quiet := get()
	reps[0].must(200, "GET", "/v1/platform/scopes", "sandbox_admin_acme", "") // matches the rule
	reps[1].must(200, "GET", "/v1/platform/apps/"+app["id"].(string), "sandbox_admin_acme", "")
	if n := get(); n != quiet {
		t.Errorf("after a match on another replica a request costs %d round trips, %d without", n, quiet)
	}
	before := reps[1].sb.RoundTrips()
	reps[0].must(200, "GET", "/v1/platform/scopes", "sandbox_admin_acme", "")
	reps[1].must(200, "GET", "/v1/platform/apps/"+app["id"].(string), "sandbox_admin_acme", "")
	if n := reps[1].sb.RoundTrips() - before; n != quiet {
		t.Errorf("the request after a match on another replica costs %d round trips, %d without", n, quiet)
	}
}

// TestReplicasShareTheFaultFiringLog: firings made on any replica are
// listed, the same and in the same order, by every replica, a limit keeps
// the most recent, and a reset on one replica empties the log for all.
// (The store suite checks the tenant filter before the limit.)
func TestReplicasShareTheFaultFiringLog(t *testing.T) {
	u := pgtest.Database(t)
	reps := []*replica{openReplicaWith(t, u, emulator.Config{}), openReplicaWith(t, u, emulator.Config{}), openReplicaWith(t, u, emulator.Config{})}
	reps[0].must(201, "POST", "/_sandbox/faults", "op_test",
		`{"name":"refuse","match":{"operation":"listScopes"},"action":{"error":{"status":503}}}`)
	for i := range 6 {
		reps[i%3].must(503, "GET", "/v1/platform/scopes", "sandbox_admin_acme", "")
	}
	list := func(r *replica, query string) []string {
		t.Helper()
		body := r.must(200, "GET", "/_sandbox/faults/events"+query, "op_test", "")
		var ids []string
		for _, ev := range body["data"].([]any) {
			ids = append(ids, ev.(map[string]any)["request_id"].(string))
		}
		return ids
	}
	all := list(reps[0], "?rule=refuse")
	if len(all) != 6 {
		t.Fatalf("replica 0 lists %d firings of the 6 made over three replicas: %v", len(all), all)
	}
	for i, r := range reps[1:] {
		if diff := cmp.Diff(all, list(r, "?rule=refuse")); diff != "" {
			t.Errorf("replica %d lists other firings than replica 0 (-0 +%d):\n%s", i+1, i+1, diff)
		}
	}
	if diff := cmp.Diff(all[4:], list(reps[2], "?limit=2")); diff != "" {
		t.Errorf("the last two firings (-want +got):\n%s", diff)
	}
	reps[1].must(200, "POST", "/_sandbox/reset", "op_test", "")
	for i, r := range reps {
		if got := list(r, ""); len(got) != 0 {
			t.Errorf("after a reset on replica 1, replica %d lists %v", i, got)
		}
	}
}

// TestReplicasReloadOnlyWhatChanged: each kind of shared state has its
// version, so a key rotated on A has B reload its keys alone, a clock
// moved its clocks and tenants alone, a fault rule added its rules alone.
func TestReplicasReloadOnlyWhatChanged(t *testing.T) {
	u := pgtest.Database(t)
	a, b := openReplica(t, "", u), openReplica(t, "", u)
	b.must(200, "GET", "/v1/platform/scopes", "sandbox_admin_acme", "")
	for _, tc := range []struct {
		name   string
		change func()
		want   [3]int64
	}{
		{"key rotation", func() { a.must(200, "POST", "/_sandbox/keys/rotate", "op_test", "") }, [3]int64{0, 1, 0}},
		{"clock move", func() { a.must(200, "POST", "/_sandbox/clock", "op_test", `{"advance":"1m"}`) }, [3]int64{1, 0, 0}},
		{"fault rule", func() {
			a.must(201, "POST", "/_sandbox/faults", "op_test", `{"name":"slow","match":{"operation":"listApps"},"action":{"latency":{"fixed":"1ms"}}}`)
		}, [3]int64{0, 0, 1}},
		{"nothing", func() {}, [3]int64{0, 0, 0}},
	} {
		before := b.sb.Reloads()
		tc.change()
		b.must(200, "GET", "/v1/platform/scopes", "sandbox_admin_acme", "")
		after := b.sb.Reloads()
		got := [3]int64{after[0] - before[0], after[1] - before[1], after[2] - before[2]}
		if got != tc.want {
			t.Errorf("%s on A: B reloaded (clocks, keys, rules) %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestReplicasDeliverRetriesAndDelaysOnce: three replicas on one
// database, every first attempt failing: each event's retry is made once,
// by one replica, whichever replica moves the clock past it; a delivery
// a fault rule delays is made once too, when the clock passes its delay
// on any replica, though the replica holding it serves no request.
func TestReplicasDeliverRetriesAndDelaysOnce(t *testing.T) {
	u := pgtest.Database(t)
	var (
		mu       sync.Mutex
		attempts = map[string]int{}
	)
	consumer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		attempts[r.Header.Get("Webhook-Id")]++
		n := attempts[r.Header.Get("Webhook-Id")]
		mu.Unlock()
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer consumer.Close()
	reps := []*replica{openReplica(t, "", u), openReplica(t, "", u), openReplica(t, "", u)}
	reps[0].must(200, "POST", "/_sandbox/clock", "op_test", `{"freeze":true}`)
	reps[0].must(201, "POST", "/_sandbox/webhooks", "op_test", fmt.Sprintf(
		`{"tenant":"acme","url":%q,"events":["case.updated"],"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, consumer.URL))
	count := func() (events, total int) {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range attempts {
			total += n
		}
		return len(attempts), total
	}
	waitFor := func(what string, events, total int, exact bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if e, n := count(); e >= events && n >= total {
				break
			}
			if time.Now().After(deadline) {
				e, n := count()
				t.Fatalf("%s: %d attempts for %d events, want %d for %d", what, n, e, total, events)
			}
		}
		if !exact {
			return
		}
		time.Sleep(2500 * time.Millisecond) // the other replicas poll every second
		if e, n := count(); e != events || n != total {
			t.Fatalf("%s: %d attempts for %d events, want %d for %d", what, n, e, total, events)
		}
	}
	for i := range 9 {
		reps[i%3].must(202, "POST", "/_sandbox/events", "op_test", `{"tenant":"acme","topic":"case.updated","synthetic":true}`)
	}
	waitFor("first attempts", 9, 9, true)
	reps[1].must(200, "POST", "/_sandbox/clock", "op_test", `{"advance":"10s"}`)
	waitFor("retries", 9, 18, true)

	reps[2].must(201, "POST", "/_sandbox/faults", "op_test",
		`{"name":"later","match":{"topic":"case.updated"},"when":{"first":3},"action":{"delay":{"for":"1m"}}}`)
	for i := range 3 {
		reps[i].must(202, "POST", "/_sandbox/events", "op_test", `{"tenant":"acme","topic":"case.updated","synthetic":true}`)
	}
	time.Sleep(1500 * time.Millisecond)
	if e, n := count(); e != 9 || n != 18 {
		t.Fatalf("delayed deliveries were attempted before their delay: %d attempts for %d events", n, e)
	}
	reps[0].must(200, "POST", "/_sandbox/clock", "op_test", `{"advance":"2m"}`)
	// A retry falls inside this move or not, by which replica holds it.
	waitFor("delayed first attempts", 12, 21, false)
	reps[2].must(200, "POST", "/_sandbox/clock", "op_test", `{"advance":"10m"}`)
	waitFor("delayed deliveries' retries", 12, 24, true)
}

// TestReplicaUnderLoadSeesEveryEarlierChange: requests to B share reads
// of the shared versions while other requests keep B busy, yet each
// request sees every change A committed before it arrived.
func TestReplicaUnderLoadSeesEveryEarlierChange(t *testing.T) {
	u := pgtest.Database(t)
	a, b := openReplica(t, "", u), openReplica(t, "", u)
	a.must(200, "POST", "/_sandbox/clock", "op_test", `{"freeze":true}`)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for ctx.Err() == nil {
				b.do("GET", "/v1/platform/apps", "sandbox_admin_acme", "")
			}
		})
	}
	for range 40 {
		a.must(200, "POST", "/_sandbox/clock", "op_test", `{"advance":"1h"}`)
		want, _ := a.clockAt("")
		if got, _ := b.clockAt(""); !got.Equal(want) {
			t.Errorf("B reads the clock at %v after A moved it to %v", got, want)
		}
	}
	cancel()
	wg.Wait()
}
