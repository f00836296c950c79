package emulator_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/client"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/internal/pgtest"
)

// journalOps lists the operations and seqs of tenant's journal as r
// serves it, newest first.
func journalOps(r *replica, tenant string) ([]string, []float64) {
	r.t.Helper()
	page := r.must(200, "GET", "/_sandbox/requests?limit=500&tenant="+tenant, "op_test", "")
	var ops []string
	var seqs []float64
	for _, e := range page["requests"].([]any) {
		m := e.(map[string]any)
		ops = append(ops, m["operation"].(string))
		seqs = append(seqs, m["seq"].(float64))
	}
	return ops, seqs
}

// TestReplicasShareTheRequestJournal: the journal of replicas on one
// PostgreSQL database is one journal. Either replica lists the requests
// both answered before the read, newest first in one numbering; a request made after a seq was
// read is numbered above it (the conformance runner's watermark); a clear
// on one replica is a clear on every one.
func TestReplicasShareTheRequestJournal(t *testing.T) {
	u := pgtest.Database(t)
	a, b := openReplicaWith(t, u, emulator.Config{}), openReplicaWith(t, u, emulator.Config{})
	a.must(200, "GET", "/v1/platform/apps", "sandbox_admin_acme", "")
	if ops, _ := journalOps(a, "acme"); !slices.Equal(ops, []string{"listApps"}) {
		t.Fatalf("a lists %v right after its own request, want [listApps]", ops)
	}
	_, seqs := journalOps(a, "acme")
	watermark := seqs[0]
	b.must(201, "POST", "/v1/platform/apps", "sandbox_admin_acme", `{"name":"On B","grant_types":["client_credentials"],"requested_scopes":["cases:read"]}`)
	if ops, _ := journalOps(b, "acme"); !slices.Equal(ops, []string{"createApp", "listApps"}) {
		t.Fatalf("b lists %v, want [createApp listApps]", ops)
	}
	// a's read waits out b's write interval: b's request, answered
	// before the read began, is listed.
	ops, seqs := journalOps(a, "acme")
	if !slices.Equal(ops, []string{"createApp", "listApps"}) {
		t.Fatalf("a lists %v after b's request, want [createApp listApps]", ops)
	}
	if seqs[0] <= watermark {
		t.Fatalf("b's request after the watermark %v is numbered %v", watermark, seqs[0])
	}
	a.must(204, "DELETE", "/_sandbox/requests?tenant=acme", "op_test", "")
	if ops, _ := journalOps(b, "acme"); len(ops) != 0 {
		t.Fatalf("b lists %v after a cleared acme", ops)
	}
	// Deleting a tenant on b forgets its journal on a.
	created := b.must(201, "POST", "/_sandbox/tenants", "op_test", `{"id":"initech","name":"Initech"}`)
	b.must(200, "GET", "/v1/platform/apps", created["admin_token"].(string), "")
	if ops, _ := journalOps(a, "initech"); len(ops) != 1 {
		t.Fatalf("a lists %v of initech, want b's request", ops)
	}
	b.must(204, "DELETE", "/_sandbox/tenants/initech", "op_test", "")
	if ops, _ := journalOps(a, "initech"); len(ops) != 0 {
		t.Fatalf("a lists %v of a tenant b deleted", ops)
	}
}

// TestReplicasShareTheLiveStream: a stream opened on one replica of a
// PostgreSQL sandbox sends what another replica serves and publishes: a
// request of the tenant answered there, an event published there, and its
// delivery attempt, made by the replica that published it.
func TestReplicasShareTheLiveStream(t *testing.T) {
	u := pgtest.Database(t)
	a := newSandboxWith(t, func(c *emulator.Config) { c.DatabaseURL = u })
	b := newSandboxWith(t, func(c *emulator.Config) { c.DatabaseURL = u })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard only
	defer cancel()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	defer receiver.Close()
	ca, cb := client.New(a.url), client.New(b.url)
	if _, err := ca.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{Tenant: "acme", URL: receiver.URL,
		Events: []string{"case.created"}, Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}); err != nil {
		t.Fatal(err)
	}
	st, err := cb.Sandbox().Stream(ctx, client.StreamFilter{Tenant: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// b announces its subscriber; a relays once it has heard it (a
	// request on a relays nothing before).
	var ev *client.EventTriggered
	deadline := time.Now().Add(10 * time.Second)
	got := map[string]json.RawMessage{}
	frames := make(chan client.StreamEvent, 64)
	go func() {
		defer close(frames)
		for {
			f, err := st.Next()
			if err != nil {
				return
			}
			frames <- f
		}
	}()
	for ev == nil || got["event"] == nil || got["delivery"] == nil || got["request"] == nil {
		if time.Now().After(deadline) {
			t.Fatalf("b's stream has %v of a's request, event and delivery", slices.Collect(maps.Keys(got)))
		}
		if ev == nil {
			r, err := ca.Sandbox().TriggerEvent(ctx, client.EventTrigger{Tenant: "acme", Topic: "case.created"})
			if err != nil {
				t.Fatal(err)
			}
			ev = &r
			req, _ := http.NewRequestWithContext(ctx, "GET", a.url+"/v1/platform/apps", nil)
			req.Header.Set("Authorization", "Bearer sandbox_admin_acme")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
		}
		select {
		case f, ok := <-frames:
			if !ok {
				t.Fatal("b's stream ended")
			}
			var id struct {
				ID        string `json:"id"`
				EventID   string `json:"event_id"`
				Operation string `json:"operation"`
			}
			_ = json.Unmarshal(f.Data, &id)
			switch {
			case f.Type == "event" && id.ID == ev.EventIDs[0],
				f.Type == "delivery" && id.EventID == ev.EventIDs[0],
				f.Type == "request" && id.Operation == "listApps":
				got[f.Type] = f.Data
			}
		case <-time.After(500 * time.Millisecond):
			if got["event"] == nil {
				ev = nil // published before a heard b: publish again
			}
		}
	}
}
