package emulator_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/knogin/argus-sandbox/client"
)

// keyed sends a JSON request with an Idempotency-Key and returns the
// status, the replay header and the raw body.
func (e *sandboxEnv) keyed(t *testing.T, method, path, token, key, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, "", ""
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Idempotent-Replayed"), string(raw)
}

func (e *sandboxEnv) appCount(t *testing.T) int {
	t.Helper()
	_, out := e.call(t, http.MethodGet, "/v1/platform/apps?limit=100", "sandbox_admin_acme", "")
	return len(out["data"].([]any))
}

const appBody = `{"name":"Write-back","grant_types":["client_credentials"],"requested_scopes":["cases:read"]}`

// TestIdempotencyKeyReplaysALostCreate: the retry of a create whose answer
// was lost gets the first answer, byte for byte (the secret included), and
// creates nothing; another body with the key is refused; after 24 hours of
// sandbox time the key is forgotten.
func TestIdempotencyKeyReplaysALostCreate(t *testing.T) {
	e := newSandbox(t)
	before := e.appCount(t)
	st1, rep1, body1 := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", "k-1", appBody)
	st2, rep2, body2 := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", "k-1", appBody)
	if st1 != 201 || rep1 != "" || st2 != 201 || rep2 != "true" || body1 != body2 {
		t.Fatalf("first %d %q, retry %d %q; bodies equal: %v", st1, rep1, st2, rep2, body1 == body2)
	}
	if n := e.appCount(t); n != before+1 {
		t.Errorf("apps: %d, want %d", n, before+1)
	}
	st, _, body := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", "k-1", strings.Replace(appBody, "Write-back", "Other", 1))
	if st != 422 || !strings.Contains(body, `"idempotency_key_reused"`) {
		t.Errorf("reused key: %d %s", st, body)
	}
	// Another tenant's admin with the same key is another key.
	if st, rep, _ := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_globex", "k-1", appBody); st != 201 || rep != "" {
		t.Errorf("other tenant: %d %q", st, rep)
	}
	e.control(t, "/_sandbox/clock", `{"advance":"24h"}`)
	if st, rep, again := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", "k-1", appBody); st != 201 || rep != "" || again == body1 {
		t.Errorf("after 24h: %d %q", st, rep)
	}
	if n := e.appCount(t); n != before+2 {
		t.Errorf("apps after expiry: %d, want %d", n, before+2)
	}
	for _, bad := range []string{strings.Repeat("k", 256), "caf\u00e9"} {
		if st, _, body := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", bad, appBody); st != 400 || !strings.Contains(body, "Idempotency-Key") {
			t.Errorf("key %q: %d %s", bad, st, body)
		}
	}
}

// TestConcurrentRequestsWithOneKeyCreateOnce: twenty requests with one key
// at once create one app and all answer it.
func TestConcurrentRequestsWithOneKeyCreateOnce(t *testing.T) {
	e := newSandbox(t)
	before := e.appCount(t)
	var wg sync.WaitGroup
	bodies := make([]string, 20)
	for i := range bodies {
		wg.Go(func() {
			st, _, body := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", "same", appBody)
			if st != 201 {
				t.Errorf("request %d: %d %s", i, st, body)
			}
			bodies[i] = body
		})
	}
	wg.Wait()
	for i, b := range bodies {
		if b != bodies[0] {
			t.Fatalf("answer %d differs from the first", i)
		}
	}
	if n := e.appCount(t); n != before+1 {
		t.Errorf("apps: %d, want %d", n, before+1)
	}
}

// TestGraphQLMutationsHonourTheKey: a mutation retried with its key runs
// once (the note is added once), queries ignore the key, and the key with
// another mutation is refused as a GraphQL error.
func TestGraphQLMutationsHonourTheKey(t *testing.T) {
	e := newSandbox(t)
	tok, _, _ := e.clientToken(t, "cases:read cases:write")
	add := `{"query":"mutation { addCaseNote(caseId: \"case_acme_1001\", body: \"Called back.\") { id } }"}`
	st1, rep1, b1 := e.keyed(t, http.MethodPost, "/v1/graphql", tok, "note-1", add)
	st2, rep2, b2 := e.keyed(t, http.MethodPost, "/v1/graphql", tok, "note-1", add)
	if st1 != 200 || rep1 != "" || st2 != 200 || rep2 != "true" || b1 != b2 || strings.Contains(b1, "errors") {
		t.Fatalf("first %d %q %s, retry %d %q %s", st1, rep1, b1, st2, rep2, b2)
	}
	notes := `{"query":"{ case(id: \"case_acme_1001\") { notes(first: 100) { nodes { body } } } }"}`
	_, _, q1 := e.keyed(t, http.MethodPost, "/v1/graphql", tok, "q", notes)
	if n := strings.Count(q1, "Called back."); n != 1 {
		t.Errorf("notes added: %d, want 1: %s", n, q1)
	}
	if _, rep, _ := e.keyed(t, http.MethodPost, "/v1/graphql", tok, "q", notes); rep != "" {
		t.Errorf("a query was replayed")
	}
	other := strings.Replace(add, "Called back.", "Again.", 1)
	if st, _, b := e.keyed(t, http.MethodPost, "/v1/graphql", tok, "note-1", other); st != 422 || !strings.Contains(b, "IDEMPOTENCY_KEY_REUSED") {
		t.Errorf("reused key: %d %s", st, b)
	}
}

// TestFaultShapedAnswersAreNotKept: an answer shaped by an injected fault
// (a 500, and a 429 that would otherwise be kept as a 4xx) is not stored
// under its key, so the retry with the same key runs the operation and is
// not a replay.
func TestFaultShapedAnswersAreNotKept(t *testing.T) {
	for _, status := range []string{"500", "429"} {
		t.Run(status, func(t *testing.T) {
			e := newSandbox(t)
			before := e.appCount(t)
			rule := `{"name":"create-outage","match":{"operation":"createApp"},"when":{"first":1},"action":{"error":{"status":` + status + `}}}`
			if resp, out := e.post(t, "/_sandbox/faults", "application/json", "", rule); resp.StatusCode != 201 {
				t.Fatalf("add rule: %d %v", resp.StatusCode, out)
			}
			st1, rep1, body1 := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", "k-fault", appBody)
			if st1 == 201 || rep1 != "" {
				t.Fatalf("first (faulted): %d %q %s", st1, rep1, body1)
			}
			st2, rep2, body2 := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", "k-fault", appBody)
			if st2 != 201 || rep2 != "" {
				t.Fatalf("retry: %d replayed=%q %s", st2, rep2, body2)
			}
			st3, rep3, body3 := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", "k-fault", appBody)
			if st3 != 201 || rep3 != "true" || body3 != body2 {
				t.Errorf("second retry: %d replayed=%q, same body as the retry: %v", st3, rep3, body3 == body2)
			}
			if n := e.appCount(t); n != before+1 {
				t.Errorf("apps: %d, want %d", n, before+1)
			}
		})
	}
}

// TestDelayedAnswerIsKept: a latency fault delays the first request of a
// key but does not shape its answer, so the answer is kept and the retry is
// a replay, not a second create (the retry a client sends after giving up
// on a slow answer is the case keys exist for).
func TestDelayedAnswerIsKept(t *testing.T) {
	e := newSandbox(t)
	before := e.appCount(t)
	rule := `{"name":"slow-create","match":{"operation":"createApp"},"when":{"first":1},"action":{"latency":{"fixed":"10ms"}}}`
	if resp, out := e.post(t, "/_sandbox/faults", "application/json", "", rule); resp.StatusCode != 201 {
		t.Fatalf("add rule: %d %v", resp.StatusCode, out)
	}
	st1, _, body1 := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", "k-slow", appBody)
	st2, rep2, body2 := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", "k-slow", appBody)
	if st1 != 201 || st2 != 201 || rep2 != "true" || body1 != body2 {
		t.Errorf("delayed first %d, retry %d replayed=%q, same body: %v", st1, st2, rep2, body1 == body2)
	}
	if n := e.appCount(t); n != before+1 {
		t.Errorf("apps: %d, want %d", n, before+1)
	}
}

// TestJournalMarksReplays: the request journal tells a replayed answer
// from the request that did the write, so whoever counts a client's writes
// from it (the conformance runner) does not count a replay twice.
func TestJournalMarksReplays(t *testing.T) {
	e := newSandbox(t)
	for range 2 {
		if st, _, _ := e.keyed(t, http.MethodPost, "/v1/platform/apps", "sandbox_admin_acme", "k-journal", appBody); st != 201 {
			t.Fatalf("keyed create: %d", st)
		}
	}
	page, err := client.New(e.url).Sandbox().Requests(context.Background(),
		client.RequestFilter{Tenant: "acme", Operation: "createApp"})
	if err != nil {
		t.Fatal(err)
	}
	var replays []bool
	for _, r := range page.Requests {
		replays = append(replays, r.Replayed)
	}
	// Newest first: the retry, then the write.
	if len(replays) != 2 || !replays[0] || replays[1] {
		t.Errorf("journal replay flags, newest first: %v, want [true false]", replays)
	}
}
