package core

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/knogin/argus-sandbox/specs"
)

const testSpec = `
openapi: 3.0.3
info: {title: test, version: "1"}
paths:
  /things:
    get:
      operationId: listThings
      security: [{adminToken: []}, {accessToken: [things:read]}]
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 10}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {type: object, required: [n], properties: {n: {type: integer}}}
    post:
      operationId: createThing
      security: [{adminToken: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [name]
              properties: {name: {type: string}}
      responses:
        '201': {description: created}
  /things/{id}:
    get:
      operationId: getThing
      security: [{}]
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, pattern: '^t_[a-z]+$'}}
      responses:
        '200': {description: ok}
  /boom:
    get:
      operationId: boom
      responses:
        '200': {description: ok}
components:
  securitySchemes:
    adminToken: {type: http, scheme: bearer}
    accessToken:
      type: oauth2
      flows:
        clientCredentials: {tokenUrl: /token, scopes: {things:read: read things}}
`

type routerEnv struct {
	srv      *httptest.Server
	mu       sync.Mutex
	mismatch []string
}

func newRouterEnv(t *testing.T, handlers map[string]http.Handler) (*routerEnv, error) {
	t.Helper()
	doc, err := specs.LoadSpec("test.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	e := &routerEnv{}
	admin := AuthenticatorFunc(func(_ context.Context, tok string) (*Principal, error) {
		if tok == "admin" {
			return &Principal{Kind: KindAdmin, Tenant: "acme"}, nil
		}
		return nil, ErrInvalidToken
	})
	access := AuthenticatorFunc(func(_ context.Context, tok string) (*Principal, error) {
		switch tok {
		case "reader":
			return &Principal{Kind: KindApp, Tenant: "acme", Scopes: []string{"things:read"}}, nil
		case "nobody":
			return &Principal{Kind: KindApp, Tenant: "acme"}, nil
		}
		return nil, ErrInvalidToken
	})
	rt, err := NewRouter(RouterConfig{
		APIs:         []API{{Name: "test", Doc: doc, Handlers: handlers}},
		Security:     map[string]Authenticator{"adminToken": admin, "accessToken": access},
		MaxBodyBytes: 64,
		IDs:          NewIDs(nil),
		CheckResponse: func(r *http.Request, op string, err error) {
			e.mu.Lock()
			e.mismatch = append(e.mismatch, op)
			e.mu.Unlock()
		},
	})
	if err != nil {
		return nil, err
	}
	e.srv = httptest.NewServer(rt)
	t.Cleanup(e.srv.Close)
	return e, nil
}

func okHandlers() map[string]http.Handler {
	return map[string]http.Handler{
		"listThings": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("limit") == "7" {
				WriteJSON(w, 200, map[string]any{"wrong": true}) // breaks the spec on purpose
				return
			}
			WriteJSON(w, 200, map[string]any{"n": 1})
		}),
		"createThing": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) }),
		"getThing": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if PrincipalFrom(r.Context()) != nil {
				panic("anonymous operation got a principal")
			}
			w.WriteHeader(200)
		}),
		"boom": http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") }),
	}
}

func TestNewRouterRefusesDriftBetweenSpecAndHandlers(t *testing.T) {
	h := okHandlers()
	delete(h, "getThing")
	h["orphan"] = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	_, err := newRouterEnv(t, h)
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"operation getThing (GET /things/{id}) has no handler", `handler "orphan" has no operation`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestRouterRefusesBeforeHandler(t *testing.T) {
	e, err := newRouterEnv(t, okHandlers())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, token, ctype, body string
		wantStatus                             int
		wantCode, wantField, wantHeader        string
	}{
		{"no token", "GET", "/things", "", "", "", 401, "unauthorized", "header.Authorization", `Bearer realm="argus"`},
		{"bad token", "GET", "/things", "forged", "", "", 401, "invalid_token", "", `error="invalid_token"`},
		{"missing scope", "GET", "/things", "nobody", "", "", 403, "insufficient_scope", "", `scope="things:read"`},
		{"token in query", "GET", "/things?access_token=admin", "", "", "", 400, "invalid_request", "query.access_token", `error="invalid_request"`},
		{"bad query param", "GET", "/things?limit=50", "admin", "", "", 400, "invalid_request", "query.limit", ""},
		{"bad path param", "GET", "/things/NOPE", "", "", "", 400, "invalid_request", "path.id", ""},
		{"unknown field", "POST", "/things", "admin", "application/json", `{"name":"a","x":1}`, 400, "invalid_request", "/x", ""},
		{"missing field", "POST", "/things", "admin", "application/json", `{}`, 400, "invalid_request", "/name", ""},
		{"wrong content type", "POST", "/things", "admin", "text/plain", `{"name":"a"}`, 415, "unsupported_media_type", "header.Content-Type", ""},
		{"too large", "POST", "/things", "admin", "application/json", `{"name":"` + strings.Repeat("a", 100) + `"}`, 413, "request_too_large", "", ""},
		{"method not allowed", "DELETE", "/things", "admin", "", "", 405, "method_not_allowed", "", "GET, POST"},
		{"unknown path", "GET", "/nothing", "", "", "", 404, "not_found", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.srv.URL+tt.path, strings.NewReader(tt.body))
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			if tt.ctype != "" {
				req.Header.Set("Content-Type", tt.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p Problem
			raw, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("body is not a problem: %s", raw)
			}
			if resp.StatusCode != tt.wantStatus || p.Code != tt.wantCode {
				t.Fatalf("got %d %s, want %d %s: %s", resp.StatusCode, p.Code, tt.wantStatus, tt.wantCode, raw)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if tt.wantField != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tt.wantField) {
				t.Errorf("errors %+v do not name %s", p.Errors, tt.wantField)
			}
			if tt.wantHeader != "" && !strings.Contains(resp.Header.Get("WWW-Authenticate")+resp.Header.Get("Allow"), tt.wantHeader) {
				t.Errorf("headers %v lack %q", resp.Header, tt.wantHeader)
			}
			if p.RequestID == "" || p.RequestID != resp.Header.Get("X-Request-Id") {
				t.Errorf("request_id %q does not match X-Request-Id %q", p.RequestID, resp.Header.Get("X-Request-Id"))
			}
		})
	}
}

func TestRouterServesAndChecksResponses(t *testing.T) {
	e, err := newRouterEnv(t, okHandlers())
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, token, reqID string) *http.Response {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if reqID != "" {
			req.Header.Set("X-Request-Id", reqID)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, tok := range []string{"admin", "reader"} {
		if resp := get("/things", tok, ""); resp.StatusCode != 200 {
			t.Errorf("token %s: %d", tok, resp.StatusCode)
		}
	}
	if resp := get("/things/t_abc", "", "trace-1"); resp.StatusCode != 200 || resp.Header.Get("X-Request-Id") != "trace-1" {
		t.Errorf("anonymous op: %d, request id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	if len(e.mismatch) != 0 {
		t.Errorf("valid responses reported as mismatches: %v", e.mismatch)
	}
	get("/things?limit=7", "admin", "")
	if len(e.mismatch) != 1 || e.mismatch[0] != "listThings" {
		t.Errorf("a response breaking the spec was not reported: %v", e.mismatch)
	}
	resp := get("/boom", "", "")
	if resp.StatusCode != 500 {
		t.Errorf("panicking handler answered %d, want 500", resp.StatusCode)
	}
}

func TestRouterRefusesAmbiguousInput(t *testing.T) {
	e, err := newRouterEnv(t, okHandlers())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, path, body string
		wantField                string
	}{
		{"unknown query parameter", "GET", "/things?limt=2", "", "query.limt"},
		{"repeated scalar", "GET", "/things?limit=2&limit=3", "", "query.limit"},
		{"trailing data", "POST", "/things", `{"name":"a"} {"name":"b"}`, "/"},
		{"trailing garbage", "POST", "/things", `{"name":"a"}xyz`, "/"},
		{"duplicate key", "POST", "/things", `{"name":"a","name":"b"}`, "/name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, e.srv.URL+tt.path, strings.NewReader(tt.body))
			req.Header.Set("Authorization", "Bearer admin")
			if tt.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var p Problem
			_ = json.NewDecoder(resp.Body).Decode(&p)
			if resp.StatusCode != 400 || p.Code != "invalid_request" || len(p.Errors) == 0 || p.Errors[0].Field != tt.wantField {
				t.Errorf("got %d %+v, want 400 naming %s", resp.StatusCode, p, tt.wantField)
			}
		})
	}
	// Well-formed input still passes.
	req, _ := http.NewRequest("POST", e.srv.URL+"/things", strings.NewReader(`{"name":"a"}`+"\n"))
	req.Header.Set("Authorization", "Bearer admin")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("valid body with a trailing newline: %d", resp.StatusCode)
	}
}

func TestCheckJSONNestedDuplicate(t *testing.T) {
	if fe := checkJSON([]byte(`{"a":[{"b":1},{"c":{"d":1,"d":2}}]}`)); fe == nil || fe.Field != "/a/1/c/d" {
		t.Errorf("nested duplicate: %+v", fe)
	}
	if fe := checkJSON([]byte(`{"a/b":{"x":1},"a~b":2}`)); fe != nil {
		t.Errorf("distinct keys refused: %+v", fe)
	}
}
