package core

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/specs"
)

// limitsSpec has an open JSON body (kin-openapi decodes whatever nests in
// it), a closed one, a query parameter and an anonymous operation without
// a body.
const limitsSpec = `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /open:
    post:
      operationId: open
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object}
      responses: {'200': {description: ok}}
  /closed:
    post:
      operationId: closed
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, additionalProperties: false, properties: {name: {type: string}}}
      responses: {'200': {description: ok}}
  /list:
    get:
      operationId: list
      parameters:
        - {name: status, in: query, schema: {type: string, enum: [active, failed]}}
      responses: {'200': {description: ok}}
`

// newLimitsRouter serves limitsSpec with the default body limit; lenient
// makes its query handling that of an OAuth endpoint.
func newLimitsRouter(t *testing.T, lenient bool) *Router {
	t.Helper()
	doc, err := specs.LoadSpec("t.yaml", []byte(limitsSpec))
	if err != nil {
		t.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		WriteJSON(w, http.StatusOK, map[string]string{"body": string(body), "query": r.URL.RawQuery})
	})
	rt, err := NewRouter(RouterConfig{IDs: NewIDs(nil), APIs: []API{{Name: "t", Doc: doc, LenientQuery: lenient,
		Handlers: map[string]http.Handler{"open": ok, "closed": ok, "list": ok}}}})
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// serveMeasured serves one request and returns the answer with the bytes
// allocated meanwhile.
func serveMeasured(rt http.Handler, r *http.Request) (*httptest.ResponseRecorder, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rec := httptest.NewRecorder()
	rt.ServeHTTP(rec, r)
	runtime.ReadMemStats(&after)
	return rec, after.TotalAlloc - before.TotalAlloc
}

func jsonRequest(method, target, ctype, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Content-Type", ctype)
	return r
}

func problemOf(t *testing.T, rec *httptest.ResponseRecorder) (Problem, map[string]any) {
	t.Helper()
	var p Problem
	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("answer %d is not problem+json: %v: %.300s", rec.Code, err, rec.Body.Bytes())
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &raw)
	return p, raw
}

// TestRouterRefusesDeepJSONInLinearMemory: a body nested deeper than
// MaxJSONDepth is refused 400 naming where, and neither the scan nor the
// answer grows with the depth; up to the limit the body passes. The cases
// run in order and stop at the first failure, so the costly ones never run
// against a scan that would exhaust memory.
func TestRouterRefusesDeepJSONInLinearMemory(t *testing.T) {
	rt := newLimitsRouter(t, false)
	nest := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	deepPtr := strings.Repeat("/a", MaxJSONDepth) // the value that opens one level too many
	tests := []struct {
		name      string
		body      string
		want      int
		wantField string
	}{
		{"at the limit", nest(MaxJSONDepth), 200, ""},
		{"one level deeper", nest(MaxJSONDepth + 1), 400, deepPtr},
		{"arrays one level deeper", `{"a":` + strings.Repeat("[", MaxJSONDepth) + strings.Repeat("]", MaxJSONDepth) + "}", 400, "/a" + strings.Repeat("/0", MaxJSONDepth-1)},
		{"malformed and deep", strings.Repeat(`{"a":`, 8000), 400, deepPtr},
		{"brackets inside strings do not count", `{"a":"` + strings.Repeat("[{", 5000) + `"}`, 200, ""},
		{"1 MiB of unterminated objects", strings.Repeat(`{"a":`, DefaultMaxBodyBytes/5), 400, deepPtr},
		{"1 MiB of arrays", strings.Repeat(`[`, DefaultMaxBodyBytes), 400, strings.Repeat("/0", MaxJSONDepth)},
		{"1 MiB of arrays after a key", `{"b` + strings.Repeat("~/", 100) + `":` + strings.Repeat(`[`, DefaultMaxBodyBytes-300), 400,
			"/b" + strings.Repeat("~0~1", 100) + strings.Repeat("/0", MaxJSONDepth-1)},
	}
	for _, tt := range tests {
		rec, alloc := serveMeasured(rt, jsonRequest("POST", "/open", "application/json", tt.body))
		if rec.Code != tt.want {
			t.Fatalf("%s: %d %.300s, want %d", tt.name, rec.Code, rec.Body.Bytes(), tt.want)
		}
		if limit := uint64(32 << 20); alloc > limit {
			t.Fatalf("%s: serving a %d-byte body allocated %d MiB, want under %d MiB", tt.name, len(tt.body), alloc>>20, limit>>20)
		}
		if tt.want == 200 {
			continue
		}
		if rec.Body.Len() > 4<<10 {
			t.Fatalf("%s: the answer is %d bytes", tt.name, rec.Body.Len())
		}
		p, _ := problemOf(t, rec)
		if p.Code != "invalid_request" || len(p.Errors) != 1 || p.Errors[0].Field != tt.wantField ||
			!strings.Contains(p.Errors[0].Reason, fmt.Sprint(MaxJSONDepth)) {
			t.Fatalf("%s: got %+v, want invalid_request naming %s and the limit", tt.name, p, tt.wantField)
		}
	}
	// Too large is still too large, however it nests.
	rec, _ := serveMeasured(rt, jsonRequest("POST", "/open", "application/json", strings.Repeat("[", DefaultMaxBodyBytes+1)))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a deep body over the size limit: %d, want 413", rec.Code)
	}
}

// TestRouterCapsErrorLists: however many fields a request gets wrong, the
// answer lists MaxProblemErrors of them and says how many it left out.
func TestRouterCapsErrorLists(t *testing.T) {
	rt := newLimitsRouter(t, false)
	list := func(n int, format, sep string) string {
		items := make([]string, n)
		for i := range items {
			items[i] = fmt.Sprintf(format, i)
		}
		return strings.Join(items, sep)
	}
	tests := []struct {
		name string
		r    *http.Request
		n    int
	}{
		// 60000 members is about 650 KB, under the body limit.
		{"unknown body fields", jsonRequest("POST", "/closed", "application/json", "{"+list(60000, `"k%d":1`, ",")+"}"), 60000},
		// url.ParseQuery refuses more than 10000 parameters.
		{"unknown query parameters", httptest.NewRequest("GET", "/list?"+list(6000, "k%d=1", "&"), nil), 6000},
	}
	for _, tt := range tests {
		rec, alloc := serveMeasured(rt, tt.r)
		if rec.Code != 400 {
			t.Fatalf("%s: %d %.300s", tt.name, rec.Code, rec.Body.Bytes())
		}
		if rec.Body.Len() > 8<<10 {
			t.Fatalf("%s: the answer is %d bytes", tt.name, rec.Body.Len())
		}
		if limit := uint64(64 << 20); alloc > limit {
			t.Fatalf("%s: refusing it allocated %d MiB, want under %d MiB", tt.name, alloc>>20, limit>>20)
		}
		p, raw := problemOf(t, rec)
		if len(p.Errors) != MaxProblemErrors || raw["errors_omitted"] != float64(tt.n-MaxProblemErrors) {
			t.Errorf("%s: %d errors, errors_omitted %v; want %d and %d", tt.name, len(p.Errors), raw["errors_omitted"], MaxProblemErrors, tt.n-MaxProblemErrors)
		}
		if !strings.Contains(p.Detail, fmt.Sprintf("and %d more", tt.n-MaxProblemErrors)) {
			t.Errorf("%s: the detail does not say how many it left out: %s", tt.name, p.Detail)
		}
	}
}

// TestWriteProblemCapsErrors: the writer of every problem keeps the cap,
// whoever built the problem.
func TestWriteProblemCapsErrors(t *testing.T) {
	p := NewProblem(400, "invalid_request", "Bad Request", "many")
	for i := range MaxProblemErrors + 5 {
		p.WithField(fmt.Sprintf("/f%d", i), "bad")
	}
	p.ErrorsOmitted = 10
	rec := httptest.NewRecorder()
	WriteProblem(rec, httptest.NewRequest("GET", "/", nil), p)
	got, raw := problemOf(t, rec)
	if len(got.Errors) != MaxProblemErrors || got.Errors[0].Field != "/f0" || raw["errors_omitted"] != float64(15) {
		t.Errorf("got %d errors from %s, errors_omitted %v; want %d from /f0 and 15", len(got.Errors), got.Errors[0].Field, raw["errors_omitted"], MaxProblemErrors)
	}
}

// TestRouterRefusesMalformedQuery: a query string that does not parse
// would lose the parameters it garbles (an unfiltered listing); it is
// refused naming the pair, on lenient (OAuth) operations too.
func TestRouterRefusesMalformedQuery(t *testing.T) {
	for _, lenient := range []bool{false, true} {
		rt := newLimitsRouter(t, lenient)
		tests := []struct {
			query, want string
		}{
			{"status=bogus;x", "status=bogus;x"},
			{"status=failed&stat%zzus=failed", "stat%zzus=failed"},
			{"status=fail%", "status=fail%"},
			{"status=failed", ""},
			{"status=failed&&", ""},
			{strings.Repeat("status=failed&", 10000) + "x=1", "exceeded"},
		}
		for _, tt := range tests {
			rec := httptest.NewRecorder()
			rt.ServeHTTP(rec, httptest.NewRequest("GET", "/list?"+tt.query, nil))
			if tt.want == "" {
				if rec.Code != 200 {
					t.Errorf("lenient %v: ?%s: %d %s, want 200", lenient, tt.query, rec.Code, rec.Body.Bytes())
				}
				continue
			}
			p, _ := problemOf(t, rec)
			if rec.Code != 400 || p.Code != "invalid_request" || len(p.Errors) != 1 || p.Errors[0].Field != "query" ||
				!strings.Contains(p.Errors[0].Reason, tt.want) {
				t.Errorf("lenient %v: ?%s: %d %+v, want 400 invalid_request naming %q", lenient, tt.query, rec.Code, p, tt.want)
			}
		}
	}
}

// TestRouterRefusesBodiesWhereNoneIsTaken: an operation that takes no
// body refuses one whether its length is given or it comes chunked, even
// when the operation needs no authentication.
func TestRouterRefusesBodiesWhereNoneIsTaken(t *testing.T) {
	rt := newLimitsRouter(t, false)
	for _, tt := range []struct {
		name    string
		body    string
		chunked bool
		want    int
	}{
		{"with a length", "{}", false, 400},
		{"chunked", "{}", true, 400},
		{"chunked and empty", "", true, 200},
	} {
		r := jsonRequest("GET", "/list", "application/json", tt.body)
		if tt.chunked {
			r.ContentLength = -1
			r.Body = io.NopCloser(strings.NewReader(tt.body))
		}
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, r)
		if rec.Code != tt.want || tt.want == 400 && !strings.Contains(rec.Body.String(), "request body not allowed") {
			t.Errorf("%s: %d %s, want %d", tt.name, rec.Code, rec.Body.Bytes(), tt.want)
		}
	}
}

// TestRouterRefusesJSONThatIsNotUTF8: JSON is UTF-8 (RFC 8259 §8.1); a
// body with bytes that are not, an escape of half a surrogate pair (which
// decodes to U+FFFD, §8.2), or a charset other than UTF-8 is refused
// rather than stored mangled.
func TestRouterRefusesJSONThatIsNotUTF8(t *testing.T) {
	rt := newLimitsRouter(t, false)
	tests := []struct {
		name, path, ctype, body string
		want                    int
		wantField               string
	}{
		{"invalid bytes", "/closed", "application/json", "{\"name\":\"\xff\xfe\"}", 400, "/name"},
		{"a truncated sequence", "/closed", "application/json", "{\"name\":\"ab\xe2\x82\"}", 400, "/name"},
		{"an encoded surrogate", "/closed", "application/json", "{\"name\":\"\xed\xa0\x80\"}", 400, "/name"},
		{"invalid bytes in a key", "/open", "application/json", "{\"a\":{\"b\xff\":1}}", 400, "/a/b\ufffd"},
		{"a lone high surrogate", "/closed", "application/json", `{"name":"x\ud800"}`, 400, "/name"},
		{"a lone low surrogate", "/closed", "application/json", `{"name":"\udc00\ud800"}`, 400, "/name"},
		{"a high surrogate before another escape", "/closed", "application/json", `{"name":"\ud800\n"}`, 400, "/name"},
		{"a lone surrogate in an array", "/open", "application/json", `{"a":[1,"\uDBFF"]}`, 400, "/a/1"},
		{"a surrogate pair", "/closed", "application/json", `{"name":"\ud83d\ude00 \u00e9"}`, 200, ""},
		{"raw UTF-8", "/closed", "application/json", `{"name":"é😀"}`, 200, ""},
		{"an escaped backslash before u", "/closed", "application/json", `{"name":"\\ud800"}`, 200, ""},
		{"charset latin1", "/closed", "application/json; charset=latin1", `{"name":"x"}`, 415, "header.Content-Type"},
		{"charset utf-16", "/closed", "application/json; charset=UTF-16", `{"name":"x"}`, 415, "header.Content-Type"},
		{"a Content-Type that does not parse", "/open", "application/json; charset", strings.Repeat("[", 10000), 415, "header.Content-Type"},
		{"charset UTF-8", "/closed", "application/json; charset=UTF-8", `{"name":"x"}`, 200, ""},
		{"charset quoted utf-8", "/closed", `application/json;charset="utf-8"`, `{"name":"x"}`, 200, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, jsonRequest("POST", tt.path, tt.ctype, tt.body))
		if rec.Code != tt.want {
			t.Errorf("%s: %d %s, want %d", tt.name, rec.Code, rec.Body.Bytes(), tt.want)
			continue
		}
		if tt.want == 200 {
			continue
		}
		if p, _ := problemOf(t, rec); len(p.Errors) != 1 || p.Errors[0].Field != tt.wantField {
			t.Errorf("%s: %+v, want an error naming %s", tt.name, p, tt.wantField)
		}
	}
}

// TestRouterChecksEveryBodyKinWouldDecode: whatever Content-Type makes
// kin-openapi decode a body as JSON (it reads the media type before any
// parameters, in any case, and +json types) makes the router check it
// first, so kin-openapi never decodes a body nested deeper than
// MaxJSONDepth.
func TestRouterChecksEveryBodyKinWouldDecode(t *testing.T) {
	rt := newLimitsRouter(t, false)
	deep := strings.Repeat(`{"a":`, MaxJSONDepth+1) + "1" + strings.Repeat("}", MaxJSONDepth+1)
	for _, ct := range []string{"application/json", "APPLICATION/JSON", " application/json", "application/json ",
		"application/json; charset=utf-8", "application/json; charset", "application/json;", "application/json; x=\"",
		"application/merge-patch+json", "Application/Problem+JSON; charset=UTF-8"} {
		rec := httptest.NewRecorder()
		rt.ServeHTTP(rec, jsonRequest("POST", "/open", ct, deep))
		p, _ := problemOf(t, rec)
		if len(p.Errors) != 1 || p.Errors[0].Reason != reasonTooDeep && !strings.HasPrefix(p.Errors[0].Reason, "the Content-Type does not parse") {
			t.Errorf("Content-Type %q: %d %+v, want the router's refusal", ct, rec.Code, p)
		}
	}
}
