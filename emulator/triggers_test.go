package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// receiver collects the bodies of the deliveries a webhook receives.
type receiver struct {
	mu     sync.Mutex
	events []map[string]any
}

func (rc *receiver) take() []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.events
	rc.events = nil
	return out
}

// subscribe points a webhook of tenant at a new receiver for topics.
func (e *sandboxEnv) subscribe(t *testing.T, tenant string, topics ...string) *receiver {
	t.Helper()
	rc := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var ev map[string]any
		_ = json.Unmarshal(raw, &ev)
		rc.mu.Lock()
		rc.events = append(rc.events, ev)
		rc.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	topicsJSON, _ := json.Marshal(topics)
	e.control(t, "/_sandbox/webhooks", `{"tenant":"`+tenant+`","url":"`+srv.URL+`/hook","events":`+string(topicsJSON)+
		`,"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`)
	return rc
}

// trigger posts to /_sandbox/events and, once accepted, waits for the
// deliveries to settle and returns the events received since the last call.
func (e *sandboxEnv) trigger(t *testing.T, rc *receiver, body string) []map[string]any {
	t.Helper()
	e.control(t, "/_sandbox/events", body)
	if resp, idle := e.send(t, http.MethodGet, "/_sandbox/webhooks/idle?timeout=10s", "", "", ""); idle["idle"] != true {
		t.Fatalf("deliveries did not settle: %d %v", resp.StatusCode, idle)
	}
	return rc.take()
}

// graphqlCase reads a case through GraphQL as token's app sees it (nil when
// the answer has none).
func (e *sandboxEnv) graphqlCase(t *testing.T, token, id string) map[string]any {
	t.Helper()
	q, _ := json.Marshal(map[string]any{"query": `query($id: ID!) { case(id: $id) { id title status priority tags version updatedAt } }`,
		"variables": map[string]any{"id": id}})
	resp, out := e.post(t, "/v1/graphql", "application/json", token, string(q))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("graphql: %d %v", resp.StatusCode, out)
	}
	data, _ := out["data"].(map[string]any)
	c, _ := data["case"].(map[string]any)
	return c
}

// eventCase is data.case of the only event of evs.
func eventCase(t *testing.T, evs []map[string]any) map[string]any {
	t.Helper()
	if len(evs) != 1 {
		t.Fatalf("%d events delivered, want 1: %v", len(evs), evs)
	}
	data, _ := evs[0]["data"].(map[string]any)
	c, _ := data["case"].(map[string]any)
	if c == nil {
		t.Fatalf("the event has no data.case: %v", evs[0])
	}
	return c
}

// sameCase fails unless the event's case and the GraphQL answer agree on
// what both carry.
func sameCase(t *testing.T, ev, gql map[string]any) {
	t.Helper()
	if gql == nil {
		t.Fatalf("GraphQL does not know case %v", ev["id"])
	}
	for ek, gk := range map[string]string{"id": "id", "title": "title", "status": "status", "priority": "priority",
		"version": "version", "updated_at": "updatedAt"} {
		if ev[ek] != gql[gk] {
			t.Errorf("event case %s = %v, GraphQL %s = %v", ek, ev[ek], gk, gql[gk])
		}
	}
}

// TestTriggeredCaseEventsAreTheStoredCase: POST /_sandbox/events for a case
// topic changes the stored case, and the event, the GraphQL answer and the
// next event agree, as Stripe's trigger creates real objects.
func TestTriggeredCaseEventsAreTheStoredCase(t *testing.T) {
	e := newSandbox(t)
	token, _, _ := e.clientToken(t, "cases:read")
	rc := e.subscribe(t, "acme", "case.created", "case.updated", "case.closed", "app.created")

	first := eventCase(t, e.trigger(t, rc, `{"tenant":"acme","topic":"case.updated","data":{"case":{"id":"case_acme_1001","title":"Wire transfer confirmed as fraud"}}}`))
	if first["title"] != "Wire transfer confirmed as fraud" || first["version"] != 2.0 || first["number"] != "ACME-1001" {
		t.Errorf("first event's case = %v, want the stored case retitled at version 2", first)
	}
	sameCase(t, first, e.graphqlCase(t, token, "case_acme_1001"))

	e.control(t, "/_sandbox/clock", `{"advance":"1m"}`)
	second := eventCase(t, e.trigger(t, rc, `{"tenant":"acme","topic":"case.updated","data":{"case":{"id":"case_acme_1001","priority":"CRITICAL"}}}`))
	if second["version"] != 3.0 || second["title"] != "Wire transfer confirmed as fraud" || second["updated_at"] == first["updated_at"] {
		t.Errorf("second event's case = %v, want version 3 keeping the new title, updated later", second)
	}
	sameCase(t, second, e.graphqlCase(t, token, "case_acme_1001"))

	closed := eventCase(t, e.trigger(t, rc, `{"tenant":"acme","topic":"case.closed","data":{"case":{"id":"case_acme_1001"},"resolution":"Funds recovered."}}`))
	if closed["status"] != "CLOSED" || closed["version"] != 4.0 {
		t.Errorf("closed event's case = %v, want CLOSED at version 4", closed)
	}
	sameCase(t, closed, e.graphqlCase(t, token, "case_acme_1001"))

	t.Run("without an id a new case is stored", func(t *testing.T) {
		made := eventCase(t, e.trigger(t, rc, `{"tenant":"acme","topic":"case.created","data":{"case":{"title":"Badge cloned at the front desk"}}}`))
		id, _ := made["id"].(string)
		if id == "" || strings.HasPrefix(id, "case_acme_100") || made["version"] != 1.0 || made["title"] != "Badge cloned at the front desk" {
			t.Fatalf("created event's case = %v, want a fresh id at version 1", made)
		}
		sameCase(t, made, e.graphqlCase(t, token, id))
	})

	t.Run("unknown and foreign ids are not found", func(t *testing.T) {
		for _, id := range []string{"case_acme_9999", "case_globex_2001"} {
			resp, out := e.post(t, "/_sandbox/events", "application/json", "",
				`{"tenant":"acme","topic":"case.updated","data":{"case":{"id":"`+id+`","title":"x"}}}`)
			if resp.StatusCode != http.StatusNotFound || out["code"] != "not_found" || !strings.Contains(out["detail"].(string), id) {
				t.Errorf("%s: %d %v, want 404 not_found naming it", id, resp.StatusCode, out)
			}
		}
		if c := e.graphqlCase(t, token, "case_acme_9999"); c != nil {
			t.Errorf("a refused trigger stored case %v", c)
		}
	})

	t.Run("fields a case does not have are refused under /data", func(t *testing.T) {
		resp, out := e.post(t, "/_sandbox/events", "application/json", "",
			`{"tenant":"acme","topic":"case.updated","data":{"case":{"id":"case_acme_1002","title":"","risk":1,"version":9}}}`)
		var fields []string
		errs, _ := out["errors"].([]any)
		for _, x := range errs {
			fields = append(fields, x.(map[string]any)["field"].(string))
		}
		got := strings.Join(fields, " ")
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(got, "/data/case/title") ||
			!strings.Contains(got, "/data/case/risk") || !strings.Contains(got, "/data/case/version") {
			t.Errorf("%d %v, want 422 naming /data/case/title, /data/case/risk and /data/case/version", resp.StatusCode, out)
		}
		if c := e.graphqlCase(t, token, "case_acme_1002"); c["version"] != 1.0 {
			t.Errorf("a refused trigger changed the case: %v", c)
		}
	})

	t.Run("synthetic mode sends the payload as given", func(t *testing.T) {
		ev := eventCase(t, e.trigger(t, rc, `{"tenant":"acme","topic":"case.updated","synthetic":true,"data":{"case":{"id":"case_cnf_x","version":7,"risk":1}}}`))
		if ev["id"] != "case_cnf_x" || ev["version"] != 7.0 || ev["risk"] != 1.0 || ev["title"] != "Suspicious wire transfer to an offshore account" {
			t.Errorf("synthetic event's case = %v, want the example with the overrides", ev)
		}
		if c := e.graphqlCase(t, token, "case_acme_1001"); c["version"] != 4.0 {
			t.Errorf("a synthetic trigger changed a stored case: %v", c)
		}
		evs := e.trigger(t, rc, `{"tenant":"acme","topic":"app.created","data":{"app":{"name":"Other"}}}`)
		if len(evs) != 1 || evs[0]["data"].(map[string]any)["app"].(map[string]any)["name"] != "Other" {
			t.Errorf("app.created = %v, want the example with the override", evs)
		}
	})

	t.Run("count updates the same case that many times", func(t *testing.T) {
		evs := e.trigger(t, rc, `{"tenant":"acme","topic":"case.updated","count":3,"data":{"case":{"id":"case_acme_1003","priority":"LOW"}}}`)
		versions := map[float64]bool{}
		for _, ev := range evs {
			versions[ev["data"].(map[string]any)["case"].(map[string]any)["version"].(float64)] = true
		}
		if len(evs) != 3 || !versions[2] || !versions[3] || !versions[4] {
			t.Errorf("versions %v of %d events, want 2, 3 and 4", versions, len(evs))
		}
		if c := e.graphqlCase(t, token, "case_acme_1003"); c["version"] != 4.0 || c["priority"] != "LOW" {
			t.Errorf("GraphQL case = %v, want version 4 at LOW", c)
		}
	})
}
