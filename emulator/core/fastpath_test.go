package core

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/knogin/argus-sandbox/specs"
)

// fastSpec exercises every kind of parameter and body the fast check
// decides, and some it must leave to kin-openapi.
const fastSpec = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string, pattern: '^it_[a-z]{2,5}$'}}
    get:
      operationId: getItem
      parameters:
        - {name: cursor, in: query, schema: {type: string, maxLength: 4}}
        - {name: order, in: query, schema: {type: string, enum: [asc, desc]}}
        - {name: name, in: query, schema: {type: string, minLength: 2}}
        - {name: after, in: query, schema: {type: string, format: date-time}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, default: 20}}
        - {name: n, in: query, schema: {type: integer}}
        - {name: must, in: query, required: false, schema: {type: string, nullable: true}}
      responses: {'200': {description: ok}}
    post:
      operationId: postItem
      requestBody:
        required: true
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                a: {type: string}
                r: {type: array, items: {type: string}}
      responses: {'200': {description: ok}}
  /strict:
    post:
      operationId: strictForm
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema:
              type: object
              required: [a]
              additionalProperties: false
              properties:
                a: {type: string, maxLength: 3}
      responses: {'200': {description: ok}}
  /json:
    post:
      operationId: jsonBody
      requestBody:
        content:
          application/json:
            schema: {type: object}
      responses: {'200': {description: ok}}
  /graphql:
    post:
      operationId: graphqlLike
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              additionalProperties: false
              required: [q]
              properties:
                q: {type: string}
                a: {type: string}
                v: {type: object, nullable: true, additionalProperties: true}
                o: {type: string, nullable: true}
                e:
                  type: object
                  properties:
                    p: {type: object, required: [x], properties: {x: {type: integer}}}
                n: {type: integer}
      responses: {'200': {description: ok}}
  /header:
    get:
      operationId: withHeader
      parameters:
        - {name: X-Thing, in: header, schema: {type: string}}
        - {name: X-Key, in: header, schema: {type: string, minLength: 1, maxLength: 4, pattern: '^[a-z]+$'}}
      responses: {'200': {description: ok}}
`

// TestFastCheckScope checks which operations the fast check takes on.
func TestFastCheckScope(t *testing.T) {
	doc, err := specs.LoadSpec("t.yaml", []byte(fastSpec))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"getItem": true, "postItem": true, "strictForm": false, "jsonBody": true, "graphqlLike": true, "withHeader": true}
	for _, rt := range bareRoutes(doc) {
		fc := newFastCheck(rt)
		if got := fc != nil; got != want[rt.Operation.OperationID] {
			t.Errorf("%s: fast check %v, want %v", rt.Operation.OperationID, got, want[rt.Operation.OperationID])
		}
	}
	fc := newFastCheck(routeOf(t, doc, "getItem"))
	for _, p := range fc.params {
		if got, want := p.str != nil, p.name == "id" || p.name == "cursor" || p.name == "order" || p.name == "name"; got != want {
			t.Errorf("%s: string rule %v, want %v", p.name, got, want)
		}
		if got, want := p.absentOK, p.name != "id" && p.name != "limit"; got != want {
			t.Errorf("%s: absentOK %v, want %v", p.name, got, want)
		}
	}
}

// TestFastCheckAgreesWithKin is the fast check's correctness argument:
// over the embedded specs and the test spec, every request it accepts is
// one kin-openapi accepts.
func TestFastCheckAgreesWithKin(t *testing.T) {
	docs := map[string]*openapi3.T{}
	test, err := specs.LoadSpec("t.yaml", []byte(fastSpec))
	if err != nil {
		t.Fatal(err)
	}
	docs["test"] = test
	files, _ := filepath.Glob(filepath.Join("..", "..", "specs", "*.yaml"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := specs.ParseSpec(f, data)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(f)] = doc
	}
	if len(docs) < 6 {
		t.Fatalf("found %d specs", len(docs))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	accepted, refusedByFast := 0, 0
	for name, doc := range docs {
		for _, route := range bareRoutes(doc) {
			fc := newFastCheck(route)
			if fc == nil {
				continue
			}
			for range 1000 {
				r := randomRequest(rng, route)
				bodyOK := false
				var data []byte
				if r.Body != http.NoBody {
					data, _ = io.ReadAll(r.Body)
					r.Body = io.NopCloser(bytes.NewReader(data))
					_, parsed := parseForm(data)
					fe, valid := checkJSONValid(data)
					switch ct := r.Header.Get("Content-Type"); {
					case fc.form && ct == formMediaType:
						bodyOK = parsed
					case fc.json != nil && ct == jsonMediaType:
						if fe != nil {
							continue // the router refuses it before validation
						}
						bodyOK = valid && fc.json.accepts(data)
					}
				}
				if !fc.accept(r, bodyOK) {
					refusedByFast++
					continue
				}
				accepted++
				params := map[string]string{}
				for _, p := range fc.params {
					if p.inPath {
						params[p.name] = r.PathValue(p.name)
					}
				}
				in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: validationOptions}
				if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
					t.Errorf("%s %s: fast check accepted %s %s (body %q), kin-openapi refuses: %v",
						name, route.Operation.OperationID, r.Method, r.URL, data, err)
				}
			}
		}
	}
	if accepted < 1000 || refusedByFast < 1000 {
		t.Errorf("accepted %d, left %d to kin-openapi: the generator no longer covers both sides", accepted, refusedByFast)
	}
}

// bareRoutes lists every operation of doc as the router validates it,
// without security requirements.
func bareRoutes(doc *openapi3.T) []*routers.Route {
	var out []*routers.Route
	for _, path := range doc.Paths.InMatchingOrder() {
		item := doc.Paths.Value(path)
		for method, op := range item.Operations() {
			bare := *op
			bare.Security = &openapi3.SecurityRequirements{}
			out = append(out, &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: &bare})
		}
	}
	return out
}

func routeOf(t *testing.T, doc *openapi3.T, id string) *routers.Route {
	t.Helper()
	for _, r := range bareRoutes(doc) {
		if r.Operation.OperationID == id {
			return r
		}
	}
	t.Fatalf("no operation %s", id)
	return nil
}

// randomRequest builds a request for route from values near the edges
// of what its parameters and body accept.
func randomRequest(rng *rand.Rand, route *routers.Route) *http.Request {
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	value := func(s *openapi3.SchemaRef, example any) string {
		vals := []string{"", "a", "ab", "abcd", "abcde", "it_ab", "it_abcde", "it_abcdef", "IT_ab", "it_a",
			"app_0123456789abcdefghjk", "app_0123456789abcdefghjkmnpqrstvwxyz0123456", "app_0123456789ABCDEFGHJK",
			"asc", "desc", "ASC", "1", "0", "-1", "20", "101", "x y", "é", "日本語", "\U0001F600\U0001F600",
			"2024-01-02T03:04:05Z", "not-a-date", "%zz", "a/b", "true", "null"}
		if ex, ok := example.(string); ok {
			vals = append(vals, ex, ex+"x", strings.ToUpper(ex))
		}
		if s != nil && s.Value != nil {
			for _, e := range s.Value.Enum {
				vals = append(vals, fmt.Sprint(e))
			}
		}
		return vals[rng.IntN(len(vals))]
	}
	path := route.Path
	query := url.Values{}
	pathValues := map[string]string{}
	var headers [][2]string
	all := append(append(openapi3.Parameters{}, route.PathItem.Parameters...), route.Operation.Parameters...)
	for _, ref := range all {
		p := ref.Value
		v := value(p.Schema, p.Example)
		switch p.In {
		case openapi3.ParameterInPath:
			pathValues[p.Name] = v
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(v))
		case openapi3.ParameterInQuery:
			switch rng.IntN(4) {
			case 0: // absent
			case 1:
				query.Add(p.Name, v)
				query.Add(p.Name, value(p.Schema, p.Example))
			default:
				query.Set(p.Name, v)
			}
		case openapi3.ParameterInHeader:
			switch rng.IntN(4) {
			case 0: // absent
			case 1:
				headers = append(headers, [2]string{p.Name, v}, [2]string{p.Name, value(p.Schema, p.Example)})
			default:
				headers = append(headers, [2]string{p.Name, v})
			}
		}
	}
	if rng.IntN(8) == 0 {
		query.Set(pick("unknown", "access_token"), "x")
	}
	var body io.Reader = http.NoBody
	ctype := ""
	switch rng.IntN(3) {
	case 0:
	case 1:
		body = strings.NewReader(pick("", "a=b", "a=b&a=c", "r=1&r=2", "a=%zz", "a;b=c", "=", "&&", "a", "a=b&c=%20d",
			"grant_type=client_credentials&client_id=cli_x&client_secret=s", "a=abcd", "token=x&token_type_hint=access_token"))
		ctype = pick(formMediaType, formMediaType+"; charset=utf-8", "application/json", "text/plain", "")
	default:
		body = strings.NewReader(randomJSON(rng))
		ctype = pick("application/json", "application/json", "application/json; charset=utf-8", formMediaType)
	}
	r := httptest.NewRequest(route.Method, path+"?"+query.Encode(), body)
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if rng.IntN(10) == 0 {
		r.ContentLength = -1
	}
	for _, h := range headers {
		r.Header.Add(h[0], h[1])
	}
	for k, v := range pathValues {
		r.SetPathValue(k, v)
	}
	return r
}

// randomJSON returns a JSON object body (or not quite one) with fields of
// every kind, named like those of the test spec and the GraphQL request.
func randomJSON(rng *rand.Rand) string {
	pick := func(vs ...string) string { return vs[rng.IntN(len(vs))] }
	if rng.IntN(10) == 0 {
		return pick(``, ` `, `[]`, `null`, `"s"`, `1`, `nope`, `{`, `{"q":"x"} {}`, `{"q":"x",}`, `{"q":"x","q":"y"}`)
	}
	keys := []string{"q", "a", "v", "o", "e", "n", "query", "variables", "operationName", "extensions", "name", "x", `q\u0061`, "é"}
	values := []string{`"s"`, `""`, `"a\"b"`, `"{"`, `{}`, `{"a":1}`, `{"p":{"x":1}}`, `{"p":{}}`, `{"persistedQuery":{"version":1,"sha256Hash":"00"}}`,
		`null`, `1`, `-2.5e3`, `true`, `false`, `[]`, `[1,"a",{}]`, `{"b":[{"c":null}]}`}
	var fields []string
	if rng.IntN(3) > 0 {
		// Mostly the plain fields the test spec declares, with values of
		// the kinds they take or nearly.
		keys, values = keys[:4], values[:10]
		fields = append(fields, `"q":`+values[rng.IntN(len(values))])
	}
	for range rng.IntN(4) {
		fields = append(fields, pick("", " ", "\n")+`"`+keys[rng.IntN(len(keys))]+`"`+pick("", " ")+":"+pick("", " ")+values[rng.IntN(len(values))])
	}
	return pick("", " ") + "{" + strings.Join(fields, ","+pick("", " ", "\t")) + pick("", " ") + "}" + pick("", "\n")
}
