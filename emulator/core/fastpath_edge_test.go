package core

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/knogin/argus-sandbox/specs"
)

// fastEdgeSpec holds operations whose constraints sit at the edges of what
// the fast check decides: unanchored patterns, lengths counted in
// characters, enums with non-ASCII values, JSON fields with defaults,
// closed objects, nullable and read-only fields.
const fastEdgeSpec = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /p/{id}:
    parameters:
      - {name: over, in: query, schema: {type: string, default: x}}
    get:
      operationId: params
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, minLength: 2, maxLength: 3}}
        - {name: s, in: query, schema: {type: string, pattern: 'b+'}}
        - {name: m, in: query, schema: {type: string, minLength: 2, maxLength: 3}}
        - {name: e, in: query, schema: {type: string, enum: [a, "é"]}}
        - {name: over, in: query, schema: {type: string}}
      responses: {'200': {description: ok}}
  /defaults:
    post:
      operationId: jsonDefault
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                q: {type: string}
                d: {type: string, default: dflt}
      responses: {'200': {description: ok}}
  /closed:
    post:
      operationId: jsonClosed
      requestBody:
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [q]
              properties:
                q: {type: string}
                o: {type: object}
                n: {type: string, nullable: true}
                r: {type: string, readOnly: true}
                i: {type: integer}
      responses: {'200': {description: ok}}
  /undeclared:
    post:
      operationId: jsonRequiredUndeclared
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [z], properties: {q: {type: string}}}
      responses: {'200': {description: ok}}
  /form:
    post:
      operationId: form
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                a: {type: string}
                l: {type: array, items: {type: string}}
      responses: {'200': {description: ok}}
    delete:
      operationId: formDelete
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {a: {type: string}}}
      responses: {'200': {description: ok}}
  /form-encoded:
    post:
      operationId: formEncoded
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {type: object, properties: {a: {type: string}}}
            encoding: {a: {style: pipeDelimited}}
      responses: {'200': {description: ok}}
  /json-encoded:
    post:
      operationId: jsonEncoded
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {a: {type: string}}}
            encoding: {"": {contentType: text/plain}}
      responses: {'200': {description: ok}}
`

// TestFastCheckFormMethods checks that the fast check takes on form bodies
// only for the methods whose form Request.ParseForm reads: the router
// leaves the parsed form in r.PostForm, where ParseForm would put it.
func TestFastCheckFormMethods(t *testing.T) {
	doc, err := specs.LoadSpec("t.yaml", []byte(fastEdgeSpec))
	if err != nil {
		t.Fatal(err)
	}
	if fc := newFastCheck(routeOf(t, doc, "form")); fc == nil || !fc.form {
		t.Errorf("POST form: fast check %+v, want one for the form", fc)
	}
	if fc := newFastCheck(routeOf(t, doc, "formDelete")); fc != nil {
		t.Errorf("DELETE form: fast check %+v, want none", fc)
	}
}

// TestFastCheckEdgesAgreeWithKin presents requests at the edges of the
// fast check's rules. Each one it accepts must be one kin-openapi accepts
// without changing it: kin-openapi writes defaults into the query and the
// body, which the handler would then see.
func TestFastCheckEdgesAgreeWithKin(t *testing.T) {
	doc, err := specs.LoadSpec("t.yaml", []byte(fastEdgeSpec))
	if err != nil {
		t.Fatal(err)
	}
	type req struct {
		op, target string
		id         string // the path value, when the operation has one
		ctype      string
		body       string
	}
	cases := []req{
		{op: "params", target: "/p/ab", id: "ab"},
		{op: "params", target: "/p/a", id: "a"},
		{op: "params", target: "/p/abcd", id: "abcd"},
		{op: "params", target: "/p/%E6%97%A5%E6%9C%AC", id: "日本"},
		{op: "params", target: "/p/%F0%9F%98%80%F0%9F%98%80", id: "\U0001F600\U0001F600"},
		{op: "params", target: "/p/%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80", id: "\U0001F600\U0001F600\U0001F600\U0001F600"},
		{op: "params", target: "/p/%FF%FE", id: "\xff\xfe"},
		{op: "params", target: "/p/%25zz", id: "%zz"},
		{op: "params", target: "/p/a%2541", id: "a%41"},
		{op: "params", target: "/p/ab?s=abc", id: "ab"},
		{op: "params", target: "/p/ab?s=xbx", id: "ab"},
		{op: "params", target: "/p/ab?s=xyz", id: "ab"},
		{op: "params", target: "/p/ab?s=%62", id: "ab"},
		{op: "params", target: "/p/ab?s=b&s=b", id: "ab"},
		{op: "params", target: "/p/ab?s=", id: "ab"},
		{op: "params", target: "/p/ab?s", id: "ab"},
		{op: "params", target: "/p/ab?s=b;x", id: "ab"},
		{op: "params", target: "/p/ab?m=%C3%A9%C3%A9", id: "ab"},
		{op: "params", target: "/p/ab?m=%C3%A9", id: "ab"},
		{op: "params", target: "/p/ab?m=abcd", id: "ab"},
		{op: "params", target: "/p/ab?m=%F0%9F%98%80%F0%9F%98%80", id: "ab"},
		{op: "params", target: "/p/ab?e=a", id: "ab"},
		{op: "params", target: "/p/ab?e=A", id: "ab"},
		{op: "params", target: "/p/ab?e=%C3%A9", id: "ab"},
		{op: "params", target: "/p/ab?e=e%CC%81", id: "ab"}, // é decomposed
		{op: "params", target: "/p/ab?e=a+", id: "ab"},
		{op: "params", target: "/p/ab?over=y", id: "ab"},
		{op: "params", target: "/p/ab?unknown=1", id: "ab"},
		{op: "params", target: "/p/ab", id: "ab", ctype: jsonMediaType, body: `{}`},

		{op: "jsonDefault", target: "/defaults", ctype: jsonMediaType, body: `{"q":"a"}`},
		{op: "jsonDefault", target: "/defaults", ctype: jsonMediaType, body: `{"q":"a","d":null}`},
		{op: "jsonDefault", target: "/defaults", ctype: jsonMediaType, body: `{"q":"a","d":"e"}`},
		{op: "jsonDefault", target: "/defaults", ctype: jsonMediaType, body: `{}`},

		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a"}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: " \n{ \"q\" :\t\"a\" } \r\n"},
		{op: "jsonClosed", target: "/closed", ctype: "application/json; charset=utf-8", body: `{"q":"a"}`},
		{op: "jsonClosed", target: "/closed", ctype: "Application/JSON", body: `{"q":"a"}`},
		{op: "jsonClosed", target: "/closed", ctype: "application/problem+json", body: `{"q":"a"}`},
		{op: "jsonClosed", target: "/closed", ctype: formMediaType, body: `q=a`},
		{op: "jsonClosed", target: "/closed", ctype: "", body: `{"q":"a"}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: ``},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: ` `},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `null`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `[{"q":"a"}]`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `"{\"q\":\"a\"}"`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":null}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":1}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":true}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":["a"]}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":{}}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","x":"b"}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","Q":"b"}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"\u0071":"a"}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","\u0071":"b"}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","o":{"q":"a","q":"b"}}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","o":{"x":[1,{"y":null}]}}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","o":null}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","o":[]}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","n":null}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","n":"x"}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","r":"x"}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","r":null}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","i":1}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","i":"1"}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: "{\"q\":\"\xff\"}"},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a"} {"q":"b"}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a"}x`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a",}`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a"`},
		{op: "jsonClosed", target: "/closed", ctype: jsonMediaType, body: `{"q":"a","o":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`},

		{op: "jsonRequiredUndeclared", target: "/undeclared", ctype: jsonMediaType, body: `{"z":"a"}`},
		{op: "jsonRequiredUndeclared", target: "/undeclared", ctype: jsonMediaType, body: `{"q":"a"}`},

		{op: "form", target: "/form", ctype: formMediaType, body: `a=1&l=x&l=y&other=z`},
		{op: "form", target: "/form", ctype: formMediaType, body: `a=1&a=2`},
		{op: "form", target: "/form", ctype: formMediaType, body: `a=%zz`},
		{op: "form", target: "/form", ctype: formMediaType, body: `a=1;b=2`},
		{op: "form", target: "/form", ctype: formMediaType, body: ``},
		{op: "form", target: "/form", ctype: formMediaType + "; charset=utf-8", body: `a=1`},
		{op: "form", target: "/form", ctype: "Application/X-WWW-Form-Urlencoded", body: `a=1`},
		{op: "form", target: "/form", ctype: jsonMediaType, body: `{"a":"1"}`},
		{op: "form", target: "/form", ctype: formMediaType, body: `a=` + "\xff"},
		{op: "formEncoded", target: "/form-encoded", ctype: formMediaType, body: `a=1`},
		{op: "formEncoded", target: "/form-encoded", ctype: formMediaType, body: `b=1`},
		{op: "jsonEncoded", target: "/json-encoded", ctype: jsonMediaType, body: `{"a":"1"}`},
	}
	accepted := 0
	for _, c := range cases {
		route := routeOf(t, doc, c.op)
		fc := newFastCheck(route)
		if fc == nil {
			continue
		}
		method := route.Method
		var body io.Reader = http.NoBody
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		r := httptest.NewRequest(method, c.target, body)
		if c.ctype != "" {
			r.Header.Set("Content-Type", c.ctype)
		}
		if c.id != "" {
			r.SetPathValue("id", c.id)
		}
		ok, data, refused := fastVerdict(route, fc, r)
		if refused || !ok {
			continue
		}
		accepted++
		query := r.URL.RawQuery
		in := &openapi3filter.RequestValidationInput{Request: r, PathParams: map[string]string{"id": c.id}, Route: route, Options: validationOptions}
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("%s %s (body %q, %s): fast check accepted, kin-openapi refuses: %v", c.op, c.target, c.body, c.ctype, err)
			continue
		}
		after, _ := io.ReadAll(r.Body)
		if r.URL.RawQuery != query || !bytes.Equal(after, data) {
			t.Errorf("%s %s (body %q): fast check accepted, kin-openapi rewrote the request to query %q body %q",
				c.op, c.target, c.body, r.URL.RawQuery, after)
		}
	}
	if accepted < 15 {
		t.Errorf("the fast check accepted %d requests: the cases no longer exercise it", accepted)
	}
	t.Logf("the fast check accepted %d of %d requests", accepted, len(cases))
}

// fastVerdict judges r as Router.operation does before validation: it
// buffers a JSON or form body (leaving r.Body readable again), refuses
// JSON with duplicate keys or trailing data (refused), and reports whether
// the fast check accepts the request.
func fastVerdict(route *routers.Route, fc *fastCheck, r *http.Request) (accepted bool, data []byte, refused bool) {
	bodyOK := false
	hasBody := route.Operation.RequestBody != nil
	if r.Body != http.NoBody {
		data, _ = io.ReadAll(r.Body)
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(data)), int64(len(data))
	}
	switch ct := r.Header.Get("Content-Type"); {
	case hasBody && r.Body != http.NoBody && isJSON(ct):
		fe, valid := checkJSONValid(data)
		if fe != nil {
			return false, data, true
		}
		if valid && fc.json != nil && ct == jsonMediaType {
			bodyOK = fc.json.accepts(data)
		}
	case fc.form && r.Body != http.NoBody && ct == formMediaType:
		if vals, ok := parseForm(data); ok {
			bodyOK, r.PostForm = true, vals
		}
	}
	return fc.accept(r, bodyOK), data, false
}

// FuzzFastCheckJSON checks on any body that a JSON body the fast check
// accepts is one kin-openapi accepts as it is, for the object rules of the
// test specs (plain, nullable, free-form and closed fields).
func FuzzFastCheckJSON(f *testing.F) {
	var routes []*routers.Route
	for _, spec := range []string{fastSpec, fastEdgeSpec} {
		doc, err := specs.LoadSpec("t.yaml", []byte(spec))
		if err != nil {
			f.Fatal(err)
		}
		for _, r := range bareRoutes(doc) {
			if fc := newFastCheck(r); fc != nil && fc.json != nil {
				routes = append(routes, r)
			}
		}
	}
	for _, b := range []string{`{"q":"a"}`, `{"q":"a","v":{"x":[1,{"y":"}"}]},"o":null}`, `{"q":"a","e":{}}`, ` {"q" : "a\"}" , "a":""} `} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, route := range routes {
			fc := newFastCheck(route)
			r := httptest.NewRequest(route.Method, route.Path, bytes.NewReader(body))
			r.Header.Set("Content-Type", jsonMediaType)
			ok, data, refused := fastVerdict(route, fc, r)
			if refused || !ok {
				continue
			}
			in := &openapi3filter.RequestValidationInput{Request: r, Route: route, Options: validationOptions}
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Fatalf("%s: fast check accepted %q, kin-openapi refuses: %v", route.Operation.OperationID, body, err)
			}
			if after, _ := io.ReadAll(r.Body); !bytes.Equal(after, data) {
				t.Fatalf("%s: fast check accepted %q, kin-openapi rewrote it to %q", route.Operation.OperationID, body, after)
			}
		}
	})
}
