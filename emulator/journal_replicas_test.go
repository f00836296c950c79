package emulator_test

import (
	"slices"
	"testing"

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
