package core

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/specs"
)

const routerSpec = `openapi: 3.0.3
info: {title: t, version: "1"}
security:
  - bearer: []
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, pattern: '^it_[a-z]+$'}}
    get:
      operationId: getItem
      responses: {'200': {description: ok}}
    post:
      operationId: updateItem
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, additionalProperties: false, properties: {name: {type: string}}}
      responses: {'200': {description: ok}}
    delete:
      operationId: deleteItem
      responses: {'200': {description: ok}}
`

// TestRouterValidatesWithoutKinSecurityPass checks the behaviour the
// router keeps while it skips kin-openapi's security pass: bodies are
// bounded and a body sent to an operation taking none is refused, chunked
// or not.
func TestRouterValidatesWithoutKinSecurityPass(t *testing.T) {
	doc, err := specs.LoadSpec("t.yaml", []byte(routerSpec))
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		WriteJSON(w, http.StatusOK, map[string]string{"body": string(body)})
	})
	auth := AuthenticatorFunc(func(_ context.Context, token string) (*Principal, error) {
		if token != "good" {
			return nil, ErrInvalidToken
		}
		return &Principal{Kind: KindAdmin, Tenant: "acme"}, nil
	})
	rt, err := NewRouter(RouterConfig{MaxBodyBytes: 64, Security: map[string]Authenticator{"bearer": auth},
		APIs: []API{{Name: "t", Doc: doc, Handlers: map[string]http.Handler{"getItem": ok, "updateItem": ok, "deleteItem": ok}}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	defer srv.Close()
	tests := []struct {
		name     string
		method   string
		path     string
		token    string
		body     string
		chunked  bool
		want     int
		wantBody string
	}{
		{"get", "GET", "/items/it_a", "good", "", false, 200, ""},
		{"no token", "GET", "/items/it_a", "", "", false, 401, "unauthorized"},
		{"bad token", "GET", "/items/it_a", "bad", "", false, 401, "invalid_token"},
		{"bad path parameter", "GET", "/items/nope", "good", "", false, 400, "path.id"},
		{"valid body reaches the handler", "POST", "/items/it_a", "good", `{"name":"x"}`, false, 200, `{\"name\":\"x\"}`},
		{"chunked body reaches the handler", "POST", "/items/it_a", "good", `{"name":"x"}`, true, 200, `{\"name\":\"x\"}`},
		{"unknown field", "POST", "/items/it_a", "good", `{"nom":"x"}`, false, 400, "/nom"},
		{"body too large", "POST", "/items/it_a", "good", `{"name":"` + strings.Repeat("x", 100) + `"}`, false, 413, "request_too_large"},
		{"body on an operation taking none", "DELETE", "/items/it_a", "good", `{}`, false, 400, "request body not allowed"},
		{"chunked body on an operation taking none", "DELETE", "/items/it_a", "good", `{}`, true, 400, "request body not allowed"},
		{"too large body on an operation taking none", "DELETE", "/items/it_a", "good", strings.Repeat("x", 100), true, 413, "request_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
				if tt.chunked {
					body = io.MultiReader(body) // unknown length: sent chunked
				}
			}
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, body)
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.want || !strings.Contains(string(got), tt.wantBody) {
				t.Errorf("%s %s = %d %s, want %d containing %q", tt.method, tt.path, resp.StatusCode, got, tt.want, tt.wantBody)
			}
		})
	}
}
