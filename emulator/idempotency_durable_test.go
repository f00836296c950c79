package emulator_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/internal/pgtest"
)

// keyedOn sends a keyed create of the acme administrator to sb and
// answers the status, the replay header and the body.
func keyedOn(t *testing.T, sb *emulator.Sandbox, key, body string) (int, string, string) {
	t.Helper()
	return keyedAs(t, sb, "sandbox_admin_acme", key, body)
}

// keyedAs is keyedOn with the bearer token given.
func keyedAs(t *testing.T, sb *emulator.Sandbox, token, key, body string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/platform/apps", strings.NewReader(body))
	req.Host = "127.0.0.1:8080"
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	rec := httptest.NewRecorder()
	sb.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("Idempotent-Replayed"), rec.Body.String()
}

// appsOf counts acme's apps as r lists them.
func appsOf(r *replica) int {
	list, _ := r.must(200, "GET", "/v1/platform/apps", "sandbox_admin_acme", "")["data"].([]any)
	return len(list)
}

// TestIdempotencyKeyReplaysOnAnotherReplica: replicas on one PostgreSQL
// database share the keys: the retry of a create that reaches another
// replica gets the first answer replayed, byte for byte, and creates
// nothing; another body with the key is refused there too; concurrent
// requests with one key spread over both replicas create once; a
// tenant's reset and the sandbox's, on one replica, forget the keys on
// both.
func TestIdempotencyKeyReplaysOnAnotherReplica(t *testing.T) {
	u := pgtest.Database(t)
	a, b := openReplica(t, "", u), openReplica(t, "", u)
	before := appsOf(a)
	st1, rep1, body1 := keyedOn(t, a.sb, "k-1", appBody)
	st2, rep2, body2 := keyedOn(t, b.sb, "k-1", appBody)
	if st1 != 201 || rep1 != "" || st2 != 201 || rep2 != "true" || body1 != body2 {
		t.Fatalf("first on A %d %q, retry on B %d %q; bodies equal: %v", st1, rep1, st2, rep2, body1 == body2)
	}
	if n := appsOf(b); n != before+1 {
		t.Errorf("apps: %d, want %d", n, before+1)
	}
	if st, _, body := keyedOn(t, b.sb, "k-1", strings.Replace(appBody, "Write-back", "Other", 1)); st != 422 || !strings.Contains(body, `"idempotency_key_reused"`) {
		t.Errorf("reused key on B: %d %s", st, body)
	}

	const n = 12
	var wg sync.WaitGroup
	bodies := make([]string, n)
	codes := make([]int, n)
	for i := range n {
		sb := []*emulator.Sandbox{a.sb, b.sb}[i%2]
		wg.Go(func() { codes[i], _, bodies[i] = keyedOn(t, sb, "k-2", appBody) })
	}
	wg.Wait()
	for i := range n {
		if codes[i] != 201 || bodies[i] != bodies[0] {
			t.Errorf("concurrent request %d: %d, same body as the first: %v", i, codes[i], bodies[i] == bodies[0])
		}
	}
	if got := appsOf(a); got != before+2 {
		t.Errorf("apps after %d concurrent requests with one key: %d, want %d", n, got, before+2)
	}

	// A tenant's reset on one replica forgets that tenant's keys for
	// both, and no other tenant's.
	if st, _, body := keyedAs(t, a.sb, "sandbox_admin_globex", "k-1", appBody); st != 201 {
		t.Fatalf("globex create: %d %s", st, body)
	}
	a.must(200, "POST", "/_sandbox/reset", "op_test", `{"tenant":"globex"}`)
	if st, rep, _ := keyedAs(t, b.sb, "sandbox_admin_globex", "k-1", appBody); st != 201 || rep != "" {
		t.Errorf("after globex's reset on A, its key on B: %d %q, want a new create", st, rep)
	}
	if st, rep, _ := keyedOn(t, b.sb, "k-1", appBody); st != 201 || rep != "true" {
		t.Errorf("after globex's reset, acme's key on B: %d %q, want the replay", st, rep)
	}

	// A sandbox reset on one replica forgets the keys for both.
	a.must(200, "POST", "/_sandbox/reset", "op_test", "")
	if st, rep, _ := keyedOn(t, b.sb, "k-1", appBody); st != 201 || rep != "" {
		t.Errorf("after a reset on A, the key on B: %d %q, want a new create", st, rep)
	}
}

// TestIdempotencyKeyReplaysAfterRestart: with a data directory the keys
// outlive the process: the retry after a restart gets the first answer.
func TestIdempotencyKeyReplaysAfterRestart(t *testing.T) {
	dir := t.TempDir()
	first := openReplica(t, dir, "")
	before := appsOf(first)
	st1, _, body1 := keyedOn(t, first.sb, "k-1", appBody)
	if st1 != 201 {
		t.Fatalf("first: %d %s", st1, body1)
	}
	first.sb.Close()
	second := openReplica(t, dir, "")
	st2, rep2, body2 := keyedOn(t, second.sb, "k-1", appBody)
	if st2 != 201 || rep2 != "true" || body2 != body1 {
		t.Errorf("retry after a restart: %d %q; same body: %v", st2, rep2, body2 == body1)
	}
	if n := appsOf(second); n != before+1 {
		t.Errorf("apps: %d, want %d", n, before+1)
	}
}

// TestIdempotencyKeyCostsTwoStatements: on a durable store a keyed create
// sends two statements more than the same create without a key (the
// claim and keeping the answer), and its replay two in all (the claim and
// a read: the administrator's token costs none), running nothing.
func TestIdempotencyKeyCostsTwoStatements(t *testing.T) {
	r := openReplica(t, t.TempDir(), "")
	r.must(201, "POST", "/v1/platform/apps", "sandbox_admin_acme", appBody) // warm caches
	statements := func(f func()) int64 {
		before := r.sb.RoundTrips()
		f()
		return r.sb.RoundTrips() - before
	}
	unkeyed := statements(func() { r.must(201, "POST", "/v1/platform/apps", "sandbox_admin_acme", appBody) })
	keyed := statements(func() {
		if st, _, body := keyedOn(t, r.sb, "k-1", appBody); st != 201 {
			t.Fatalf("keyed create: %d %s", st, body)
		}
	})
	if keyed-unkeyed != 2 {
		t.Errorf("a keyed create sent %d statements, one without a key %d: want 2 more", keyed, unkeyed)
	}
	replay := statements(func() {
		if st, rep, _ := keyedOn(t, r.sb, "k-1", appBody); st != 201 || rep != "true" {
			t.Fatalf("replay: %d %q", st, rep)
		}
	})
	t.Logf("statements: create %d, keyed create %d, replay %d", unkeyed, keyed, replay)
	if replay != 2 {
		t.Errorf("a replay sent %d statements, want 2 (the create runs %d)", replay, unkeyed)
	}
}
