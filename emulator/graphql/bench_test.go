package graphql

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// benchPost sends body end to end (HTTP, router, auth, validation,
// GraphQL) from parallel goroutines; ns/op is the inverse of throughput.
func benchPost(b *testing.B, bodies [][]byte) {
	h := newHarness(b, Limits{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	url := h.srv.URL + "/v1/graphql"
	b.ReportAllocs()
	b.SetParallelism(8) // enough requests in flight to keep both cores busy
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i%len(bodies)]))
			i++
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer acme-all")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// benchServe runs the requests in process (router, auth, validation,
// GraphQL) without sockets: the server's own cost.
func benchServe(b *testing.B, bodies [][]byte) {
	h := newHarness(b, Limits{})
	benchInProcess(b, bodies, h.handler, context.Background(), "Bearer acme-all")
}

// benchHandler calls the GraphQL handler itself with the principal in the
// context, as the router would after authenticating: the surface's own
// cost (decoding, documents, execution, response) without routing, OpenAPI
// validation and token verification.
func benchHandler(b *testing.B, bodies [][]byte) {
	h := newHarness(b, Limits{})
	ctx := core.WithPrincipal(context.Background(), testPrincipals["acme-all"])
	benchInProcess(b, bodies, http.HandlerFunc(h.svc.serveHTTP), ctx, "")
}

// benchInProcess sends bodies to handler from parallel goroutines, with
// ctx and, unless empty, the Authorization header auth.
func benchInProcess(b *testing.B, bodies [][]byte, handler http.Handler, ctx context.Context, auth string) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/v1/graphql", bytes.NewReader(bodies[i%len(bodies)]))
			i++
			req.Header.Set("Content-Type", "application/json")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

func mustJSON(v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return raw
}

// queryBodies is the typical read: one case with its notes.
var queryBodies = [][]byte{mustJSON(map[string]any{
	"query":     `query Case($id: ID!) { case(id: $id) { id number title status priority assignee { name } tags updatedAt notes(first: 20) { totalCount nodes { id body author { name } createdAt } } } }`,
	"variables": map[string]any{"id": "case_acme_1001"},
})}

// mutationBodies change a case (and emit case.updated) on every request,
// alternating between two priorities.
var mutationBodies = func() [][]byte {
	q := `mutation Up($id: ID!, $p: CasePriority!) { updateCase(id: $id, input: {priority: $p}) { id priority version } }`
	return [][]byte{
		mustJSON(map[string]any{"query": q, "variables": map[string]any{"id": "case_acme_1003", "p": "LOW"}}),
		mustJSON(map[string]any{"query": q, "variables": map[string]any{"id": "case_acme_1003", "p": "HIGH"}}),
	}
}()

// loadbenchBodies is the query of cmd/loadbench (internal/loadbench.GraphQLCaseQuery):
// a case with its notes as edges.
var loadbenchBodies = [][]byte{mustJSON(map[string]any{
	"query":     `query Case($id: ID!) { case(id: $id) { id number title status priority notes(first: 20) { totalCount edges { node { id body createdAt } } } } }`,
	"variables": map[string]any{"id": "case_acme_1001"},
})}

func BenchmarkQueryCaseWithNotesHTTP(b *testing.B)    { benchPost(b, queryBodies) }
func BenchmarkMutationUpdateCaseHTTP(b *testing.B)    { benchPost(b, mutationBodies) }
func BenchmarkQueryCaseWithNotesServer(b *testing.B)  { benchServe(b, queryBodies) }
func BenchmarkMutationUpdateCaseServer(b *testing.B)  { benchServe(b, mutationBodies) }
func BenchmarkQueryCaseWithNotesHandler(b *testing.B) { benchHandler(b, queryBodies) }
func BenchmarkQueryCaseEdgesHandler(b *testing.B)     { benchHandler(b, loadbenchBodies) }
func BenchmarkMutationUpdateCaseHandler(b *testing.B) { benchHandler(b, mutationBodies) }

// BenchmarkPrepareDocument is what a document cache miss costs: size
// check, parse with the token limit, introspection check, validation with
// the no-suggestion rules, constant arguments and static limits.
func BenchmarkPrepareDocument(b *testing.B) {
	h := newHarness(b, Limits{})
	var req struct{ Query string }
	if err := json.Unmarshal(queryBodies[0], &req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if p := h.svc.prepare(h.svc.public, req.Query); len(p.errors) > 0 {
			b.Fatal(p.errors[0].Message)
		}
	}
}
