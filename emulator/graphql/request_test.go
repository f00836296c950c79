package graphql

import (
	"bytes"
	"encoding/json"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// decodeStd is what decodeRequest must agree with: encoding/json with
// UseNumber.
func decodeStd(body []byte) (gqlRequest, error) {
	var req gqlRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	err := dec.Decode(&req)
	return req, err
}

var requestBodies = []string{
	`{"query":"{ viewer { clientId } }"}`,
	`{"query":"query Case($id: ID!) { case(id: $id) { id } }","variables":{"id":"case_acme_1001"}}`,
	` { "query" : "query Q($n: Int) { x }" , "variables" : { "n" : -12 , "f": 1.5e3, "z": 0, "e": 2E-2 } , "operationName" : "Q" } `,
	`{"query":"mutation M($in: UpdateCaseInput!) { updateCase(input: $in) { id } }","variables":{"in":{"tags":["a","b"],"title":"x\"y\\z\/\n\t\r\b\f","nested":{"a":[true,false,null,{}],"b":[]}}}}`,
	`{"query":null,"variables":null,"operationName":null}`,
	`{}`,
	`{"query":"é ü 中文"}`,
	`{"query":"é ü 中文 \u00e9"}`,
	`{"query":"\ud83d\ude00"}`,
	`{"query":"\ud83d"}`,
	"{\"query\":\"\xff\"}",
	`{"Query":"{ a }"}`,
	`{"query":"{ a }","query":"{ b }"}`,
	`{"query":"{ a }","extensions":{"persistedQuery":{"version":1,"sha256Hash":"abc"}}}`,
	`{"query":"{ a }"} trailing`,
	`{"query":"{ a }"}{"query":"{ b }"}`,
	`{"query":"{ a }",}`,
	`{"query":5}`,
	`{"variables":[1,2]}`,
	`{"variables":{"n":01}}`,
	`{"variables":{"n":-}}`,
	`{"variables":{"n":1.}}`,
	`{"variables":{"n":1e}}`,
	`{"variables":{"a":1,"a":2}}`,
	`{"variables":{"k\u0041":1}}`,
	`{"variables":{"a":tru}}`,
	`[{"query":"{ a }"}]`,
	`"query"`,
	``,
	`{"query":"{ a }"`,
	"{\"query\":\"a\x01b\"}",
	`{"variables":{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}`,
	`{"QUERY":"{ a }"}`, `{"Variables":{"a":1}}`, `{"operationname":"Q"}`, `{"query":"{ a }","Query":"{ b }"}`,
	`{"Query":"{ b }","query":"{ a }"}`, `{"\u0071uery":"{ a }"}`, `{"querY":null,"query":"{ a }"}`,
	`{"query":"{ a }","foo":1}`, `{"query":"{ a }","extensions":null}`, "{\"query\x7f\":\"{ a }\"}",
	`{"query":"{ a }","variables":{"a":1},"variables":{"b":2}}`, `{"variables":null,"variables":{"b":2}}`,
	`{"variables":{"a":1,"A":2,"a":3}}`, `{"variables":{"a":{"b":1,"b":2}}}`, "{\"variables\":{\"\xff\":1}}",
	`{"variables":{"s":"\ud83d\ude00","t":"\ud83d","u":"\u00e9","v":"\/\\"}}`, "{\"variables\":{\"s\":\"\xed\xa0\x80\"}}",
	`{"variables":{"n":-0,"m":1E+2,"b":12345678901234567890,"f":1.0e-400,"g":-1.5E308}}`,
	`{"variables":{"n":+1}}`, `{"variables":{"n":.5}}`, `{"variables":{"n":0x1}}`, `{"variables":{"n":NaN}}`,
	`{"query":"a\/b\u0000c"}`, `{"query":"\a"}`, `{"query":"\x41"}`, "{\"query\":\"a\tb\"}",
	"\t\r\n {\"query\":\"{ a }\"}\t\r\n ", "\u00a0{\"query\":\"{ a }\"}", "{\"query\":\"{ a }\"}\x00",
	`{"operationName":"Q","operationName":"R"}`, `{"operationName":1}`, `{"variables":{"a":true,"b":false,"c":null}}`,
	`{"query":"{ a }","variables":{}}`, `{"query":"{ a }","variables":[]}`, `{"query":"{ a }","variables":"x"}`,
}

// TestDecodeRequestAgreesWithEncodingJSON checks the request scanner
// against encoding/json on bodies of every shape, accepted or not.
func TestDecodeRequestAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range requestBodies {
		checkDecode(t, []byte(body))
	}
}

// TestDecodeRequestScansUsualBodies checks that the usual bodies do not
// take the fallback.
func TestDecodeRequestScansUsualBodies(t *testing.T) {
	for _, body := range append(requestBodies[:7:7], string(queryBodies[0]), string(mutationBodies[0])) {
		var req gqlRequest
		if s := (requestScanner{b: []byte(body)}); !s.request(&req) {
			t.Errorf("%s took the fallback", body)
		}
	}
}

// TestDecodeRequestAllocatesLinearly: a body of many short strings with
// escapes, which the scanner decodes itself, costs memory in proportion to
// the body, not to the body once per string.
func TestDecodeRequestAllocatesLinearly(t *testing.T) {
	const n = 20000
	body := []byte(`{"query":"{ a }","variables":{"a":[` + strings.Repeat(`"\n",`, n) + `"\n"]}}`)
	var req gqlRequest
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if s := (requestScanner{b: body}); !s.request(&req) {
		t.Fatal("the scanner took the fallback")
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 8<<20 {
		t.Errorf("decoding a %d-byte body allocated %d MiB", len(body), got>>20)
	}
	if list, _ := req.Variables["a"].([]any); len(list) != n+1 || list[n] != "\n" {
		t.Errorf("decoded %d strings, last %q", len(list), list[len(list)-1])
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, body := range requestBodies {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkDecode(t, body) })
}

func checkDecode(t *testing.T, body []byte) {
	t.Helper()
	want, wantErr := decodeStd(body)
	var got gqlRequest
	gotErr := decodeRequest(body, &got)
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, encoding/json says %v", body, gotErr, wantErr)
	}
	if wantErr != nil {
		return
	}
	if !reflect.DeepEqual(want, got) { // cmp.Diff is slow on deep nesting
		t.Errorf("%q decoded differently (-encoding/json +decodeRequest):\n%s", body, cmp.Diff(want, got))
	}
	var fast gqlRequest
	if s := (requestScanner{b: body}); s.request(&fast) {
		if !reflect.DeepEqual(want, fast) {
			t.Errorf("%q: the scanner decoded differently (-encoding/json +scanner):\n%s", body, cmp.Diff(want, fast))
		}
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	body := loadbenchBodies[0]
	b.Run("scanner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req gqlRequest
			if err := decodeRequest(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeStd(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestDecodeRequestScansEscapes: strings with \u escapes (which encoders
// writing ASCII only send for every other character) and escaped names of
// variables are read by the scanner too; only text that encoding/json
// would repair, or a request field spelled otherwise, takes the fallback.
func TestDecodeRequestScansEscapes(t *testing.T) {
	scanned := func(body string) bool {
		var req gqlRequest
		s := requestScanner{b: []byte(body)}
		return s.request(&req)
	}
	for _, body := range []string{
		`{"query":"query Q { case(id: \"caf\u00e9\") { id } }"}`,
		`{"query":"{ a }","operationName":"\u0051","variables":{"k\u0041":"\ud83d\ude00\n","b":["\u2028",{"\u00e9":1}]}}`,
	} {
		checkDecode(t, []byte(body))
		if !scanned(body) {
			t.Errorf("%s took the fallback", body)
		}
	}
	for _, body := range []string{
		`{"query":"\ud83d"}`, `{"query":"\ude00\ud83d"}`, "{\"query\":\"\xff\"}", `{"variables":{"\ud83d":1}}`,
		`{"\u0071uery":"{ a }"}`,
	} {
		checkDecode(t, []byte(body))
		if scanned(body) {
			t.Errorf("%s: the scanner read what encoding/json repairs or matches otherwise", body)
		}
	}
}
