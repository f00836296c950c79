package graphql

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/knogin/argus-sandbox/fixtures"
)

func bundleOperation(t *testing.T, id string) fixtures.BundleOperation {
	t.Helper()
	for _, b := range fixtures.MustDefault().Bundles {
		for _, op := range b.Operations {
			if op.ID == id {
				return op
			}
		}
	}
	t.Fatalf("no bundle operation %s", id)
	return fixtures.BundleOperation{}
}

// TestBundles checks persisted partner operations: callable only by
// reference, only by approved tenants with graphql:bundles, with one refusal
// for everything else.
func TestBundles(t *testing.T) {
	audit := bundleOperation(t, "AuditExport")
	merge := bundleOperation(t, "MergeCases")
	const notFound = `{"errors":[{"message":"persisted operation not found: send the query text, or name an operation of a bundle approved for your tenant with a token holding graphql:bundles","extensions":{"code":"PERSISTED_QUERY_NOT_FOUND"}}]}`
	auditResult := `{"data":{"auditExport":[{"id":"aud_2","action":"scope.approved","actor":"admin:acme","target":null,"occurredAt":"2026-02-02T00:00:00Z"}]}}`
	tests := []struct {
		name, token string
		body        map[string]any
		wantStatus  int
		want        string
	}{
		{
			name: "by operation id", token: "acme-partner",
			body: map[string]any{"extensions": map[string]any{"operationId": "AuditExport"}, "variables": map[string]any{"since": "2026-02-01T00:00:00Z"}},
			want: auditResult,
		},
		{
			name: "by sha256", token: "acme-partner",
			body: map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": audit.SHA256}}, "variables": map[string]any{"since": "2026-02-01T00:00:00Z"}},
			want: auditResult,
		},
		{
			name: "unknown id", token: "acme-partner",
			body: map[string]any{"extensions": map[string]any{"operationId": "DeleteEverything"}},
			want: notFound,
		},
		{
			name: "unknown hash", token: "acme-partner",
			body: map[string]any{"extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(make([]byte, 32))}}},
			want: notFound,
		},
		{
			name: "tenant without an approved access request", token: "globex-all",
			body: map[string]any{"extensions": map[string]any{"operationId": "AuditExport"}},
			want: notFound,
		},
		{
			name: "token without graphql:bundles", token: "acme-writer",
			body: map[string]any{"extensions": map[string]any{"operationId": "AuditExport"}},
			want: notFound,
		},
		{
			name: "id and hash of different operations", token: "acme-partner",
			body: map[string]any{"extensions": map[string]any{"operationId": "AuditExport", "persistedQuery": map[string]any{"version": 1, "sha256Hash": merge.SHA256}}},
			want: notFound,
		},
		{
			name: "partner document sent as text", token: "acme-partner",
			body: map[string]any{"query": audit.Document},
			want: `{"errors":[{"message":"Cannot query field \"auditExport\" on type \"Query\".","locations":[{"line":2,"column":3}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name: "automatic persisted query of a public document", token: "acme-reader",
			body: map[string]any{"query": `{ case(id: "case_acme_1001") { number } }`, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": sha(`{ case(id: "case_acme_1001") { number } }`)}}},
			want: `{"data":{"case":{"number":"ACME-1001"}}}`,
		},
		{
			name: "hash that does not match the query", token: "acme-reader",
			body:       map[string]any{"query": `{ viewer { clientId } }`, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": audit.SHA256}}},
			wantStatus: 400,
			want:       `{"errors":[{"message":"extensions.persistedQuery.sha256Hash does not match the query","extensions":{"code":"BAD_REQUEST"}}]}`,
		},
		{
			name: "approved bundles list only the tenant's own", token: "acme-partner",
			body: map[string]any{"query": `{ approvedBundles { id name operations { id sha256Hash } } }`},
			want: `{"data":{"approvedBundles":[{"id":"partner-case-ops","name":"Partner case operations","operations":[{"id":"MergeCases","sha256Hash":"` + merge.SHA256 + `"},{"id":"AuditExport","sha256Hash":"` + audit.SHA256 + `"}]}]}}`,
		},
		{
			name: "no bundles for an unapproved tenant", token: "globex-all",
			body: map[string]any{"query": `{ approvedBundles { id } }`},
			want: `{"data":{"approvedBundles":[]}}`,
		},
	}
	h := newHarness(t, Limits{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.post(tt.token, tt.body)
			want := tt.wantStatus
			if want == 0 {
				want = 200
			}
			if r.Status != want {
				t.Errorf("status = %d, want %d", r.Status, want)
			}
			diff(t, js(t, tt.want), r.Body)
		})
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestMergeCases runs the partner mutation as a persisted operation and
// checks its result, its events and tenant isolation of its sources.
func TestMergeCases(t *testing.T) {
	h := newHarness(t, Limits{})
	merge := func(target string, sources ...string) map[string]any {
		r := h.post("acme-partner", map[string]any{
			"extensions": map[string]any{"operationId": "MergeCases"},
			"variables":  map[string]any{"target": target, "sources": sources},
		})
		return r.Body
	}
	diff(t, js(t, `{"data":{"mergeCases":null},"errors":[{"message":"no case with this id","locations":[{"line":2,"column":3}],"path":["mergeCases"],"extensions":{"code":"NOT_FOUND"}}]}`),
		merge("case_acme_1001", "case_globex_2001"))
	diff(t, js(t, `{"data":{"mergeCases":null},"errors":[{"message":"sources must be distinct cases other than the target","locations":[{"line":2,"column":3}],"path":["mergeCases"],"extensions":{"code":"BAD_USER_INPUT"}}]}`),
		merge("case_acme_1001", "case_acme_1001"))
	if n := len(h.events.all()); n != 0 {
		t.Fatalf("refused merges emitted %d events", n)
	}
	diff(t, js(t, `{"data":{"mergeCases":{"id":"case_acme_1001","number":"ACME-1001","status":"OPEN","notes":{"totalCount":3}}}}`),
		merge("case_acme_1001", "case_acme_1002"))
	checkEventShapes(t, h.events.all())
	var topics []string
	for _, e := range h.events.all() {
		topics = append(topics, e.Topic+" "+e.Data["case"].(map[string]any)["id"].(string))
	}
	diff(t, []string{"case.updated case_acme_1001", "case.closed case_acme_1002"}, topics)
	diff(t, js(t, `{"data":{"case":{"status":"CLOSED","resolution":"Merged into ACME-1001","tags":["device","security"],"notes":{"totalCount":0}}}}`),
		h.gql("acme-reader", `{ case(id: "case_acme_1002") { status resolution tags notes { totalCount } } }`, nil))
}
