package graphql

import (
	"net/http"
	"strings"
	"testing"
)

// TestLimits checks that every limit refuses the request before execution.
func TestLimits(t *testing.T) {
	h := newHarness(t, Limits{})
	aliases := "{"
	for i := range 21 {
		aliases += " a" + strings.Repeat("x", i) + `: viewer { clientId }`
	}
	aliases += " }"
	tests := []struct {
		name, query string
		want        string
	}{
		{
			name:  "document size",
			query: `{ case(id: "` + strings.Repeat("x", 8200) + `") { id } }`,
			want:  `{"errors":[{"message":"the document is larger than 8192 bytes","extensions":{"code":"QUERY_TOO_COMPLEX","limit":"document","max":8192}}]}`,
		},
		{
			name:  "tokens",
			query: "{" + strings.Repeat(" a", 1000) + " }",
			want:  `{"errors":[{"message":"the document has more than 1000 tokens","extensions":{"code":"QUERY_TOO_COMPLEX","limit":"tokens","max":1000}}]}`,
		},
		{
			name:  "depth",
			query: `{ cases { nodes { notes { edges { node { author { name } } } } } } viewer { ... on UserViewer { user { name } } } ...F } fragment F on Query { cases { edges { node { notes { edges { node { author { id } } } } } } } }`,
			want:  `{"errors":[{"message":"the operation is nested 8 levels deep; at most 6 are allowed","extensions":{"code":"QUERY_TOO_COMPLEX","limit":"depth","max":6}}]}`,
		},
		{
			name:  "aliases",
			query: aliases,
			want:  `{"errors":[{"message":"the operation uses 21 aliases; at most 20 are allowed","extensions":{"code":"QUERY_TOO_COMPLEX","limit":"aliases","max":20}}]}`,
		},
		{
			name:  "cost",
			query: `{ cases(first: 100) { nodes { id notes(first: 100) { nodes { id } } } } }`,
			want:  `{"errors":[{"message":"the operation's estimated cost is 20301; at most 5000 is allowed (lower first or select fewer fields)","extensions":{"code":"QUERY_TOO_COMPLEX","limit":"cost","max":5000}}]}`,
		},
	}
	h6 := newHarness(t, Limits{MaxDepth: 6})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hh := h
			if tt.name == "depth" {
				hh = h6
			}
			diff(t, js(t, tt.want), hh.gql("acme-all", tt.query, nil))
		})
	}
	t.Run("cost uses variables", func(t *testing.T) {
		q := `query Q($n: Int!) { cases(first: $n) { nodes { notes(first: $n) { nodes { id } } } } }`
		got := h.gql("acme-all", q, map[string]any{"n": 60})
		diff(t, js(t, `{"errors":[{"message":"the operation's estimated cost is 7321; at most 5000 is allowed (lower first or select fewer fields)","extensions":{"code":"QUERY_TOO_COMPLEX","limit":"cost","max":5000}}]}`), got)
		if got := h.gql("acme-all", q, map[string]any{"n": 2}); got["errors"] != nil {
			t.Errorf("a cheap query was refused: %v", got)
		}
	})
	t.Run("fragments spread many times are measured once", func(t *testing.T) {
		q := `{ ...A } fragment A on Query { ...B ...B } fragment B on Query { ...C ...C } fragment C on Query { cases(first: 100) { nodes { notes(first: 100) { totalCount } } } }`
		got := h.gql("acme-all", q, nil)
		if code := got["errors"].([]any)[0].(map[string]any)["extensions"].(map[string]any)["code"]; code != CodeTooComplex {
			t.Errorf("code = %v, want %s", code, CodeTooComplex)
		}
	})
}

// TestTransport checks the HTTP envelope: authentication, media types,
// malformed and batched bodies, and the GraphQL-over-HTTP status codes.
func TestTransport(t *testing.T) {
	h := newHarness(t, Limits{})
	tests := []struct {
		name       string
		token      string
		body       any
		header     []string
		wantStatus int
		want       string
		wantHeader map[string]string
	}{
		{
			name: "no token", body: map[string]any{"query": "{ viewer { clientId } }"},
			wantStatus: 401, want: `{"errors":[{"message":"a valid bearer access token for the GraphQL resource is required","extensions":{"code":"UNAUTHENTICATED"}}]}`,
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="argus"`, "Content-Type": "application/json; charset=utf-8"},
		},
		{
			name: "invalid token", token: "forged", body: map[string]any{"query": "{ viewer { clientId } }"},
			wantStatus: 401, want: `{"errors":[{"message":"a valid bearer access token for the GraphQL resource is required","extensions":{"code":"UNAUTHENTICATED"}}]}`,
			wantHeader: map[string]string{"WWW-Authenticate": `Bearer realm="argus", error="invalid_token", error_description="the access token is invalid"`},
		},
		{
			name: "batched array", token: "acme-all", body: `[{"query":"{ viewer { clientId } }"},{"query":"{ viewer { subject } }"}]`,
			wantStatus: 400, want: `{"errors":[{"message":"batched requests are not supported: send one operation per request","extensions":{"code":"BAD_REQUEST"}}]}`,
		},
		{
			name: "malformed JSON", token: "acme-all", body: `{"query": `,
			wantStatus: 400, want: `{"errors":[{"message":"the body must be a JSON object with query, variables, operationName and extensions","extensions":{"code":"BAD_REQUEST","fields":[{"field":"/","reason":"unexpected EOF"}]}}]}`,
		},
		{
			name: "unknown member", token: "acme-all", body: map[string]any{"query": "{ viewer { clientId } }", "tenant": "globex"},
			wantStatus: 400,
		},
		{
			name: "wrong content type", token: "acme-all", body: `query=x`, header: []string{"Content-Type", "application/x-www-form-urlencoded"},
			wantStatus: 415, want: `{"errors":[{"message":"send the request as application/json","extensions":{"code":"UNSUPPORTED_MEDIA_TYPE"}}]}`,
		},
		{
			name: "no query", token: "acme-all", body: map[string]any{"variables": map[string]any{}},
			wantStatus: 400, want: `{"errors":[{"message":"the request has no query (nor a persisted operation in extensions)","extensions":{"code":"BAD_REQUEST"}}]}`,
		},
		{
			name: "validation error as application/json", token: "acme-all", body: map[string]any{"query": "{ nope }"},
			wantStatus: 200, want: `{"errors":[{"message":"Cannot query field \"nope\" on type \"Query\".","locations":[{"line":1,"column":3}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name: "validation error as graphql-response+json", token: "acme-all", body: map[string]any{"query": "{ nope }"},
			header:     []string{"Accept", "application/graphql-response+json"},
			wantStatus: 400, want: `{"errors":[{"message":"Cannot query field \"nope\" on type \"Query\".","locations":[{"line":1,"column":3}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
			wantHeader: map[string]string{"Content-Type": "application/graphql-response+json; charset=utf-8"},
		},
		{
			name: "field error as graphql-response+json", token: "acme-all", body: map[string]any{"query": `{ case(id: "x") { id } }`},
			header:     []string{"Accept", "application/graphql-response+json"},
			wantStatus: 200, want: `{"data":{"case":null},"errors":[{"message":"no case with this id","locations":[{"line":1,"column":3}],"path":["case"],"extensions":{"code":"NOT_FOUND"}}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.post(tt.token, tt.body, tt.header...)
			if r.Status != tt.wantStatus {
				t.Errorf("status = %d, want %d (%v)", r.Status, tt.wantStatus, r.Body)
			}
			if tt.want != "" {
				diff(t, js(t, tt.want), r.Body)
			} else if code := r.Body["errors"].([]any)[0].(map[string]any)["extensions"].(map[string]any)["code"]; code != CodeBadRequest {
				t.Errorf("code = %v, want BAD_REQUEST", code)
			}
			for k, v := range tt.wantHeader {
				if got := r.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
	t.Run("GET is not allowed", func(t *testing.T) {
		resp, err := http.Get(h.srv.URL + "/v1/graphql?query=%7Bviewer%7BclientId%7D%7D")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status = %d, want 405", resp.StatusCode)
		}
	})
}
