package graphql

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
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
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, "/v1/graphql", bytes.NewReader(bodies[i%len(bodies)]))
			i++
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer acme-all")
			rec := httptest.NewRecorder()
			h.handler.ServeHTTP(rec, req)
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

func BenchmarkQueryCaseWithNotesHTTP(b *testing.B)   { benchPost(b, queryBodies) }
func BenchmarkMutationUpdateCaseHTTP(b *testing.B)   { benchPost(b, mutationBodies) }
func BenchmarkQueryCaseWithNotesServer(b *testing.B) { benchServe(b, queryBodies) }
func BenchmarkMutationUpdateCaseServer(b *testing.B) { benchServe(b, mutationBodies) }
