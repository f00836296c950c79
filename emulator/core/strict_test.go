package core

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// jsonCases are bodies on both sides of every rule of checkJSON.
var jsonCases = []string{
	``, ` `, `{}`, `[]`, `null`, `1`, `"s"`, `{} `, "{}\n", `{}{}`, `{} x`, `{}]`, `[1,2]3`,
	`{"a":1}`, `{"a":1,"a":2}`, `{"a":1,"b":{"a":2}}`, `{"a":{"b":1,"b":2}}`, `{"a":[{"b":1},{"b":1}]}`,
	`{"a":[{"b":1},{"c":{"d":1,"d":2}}]}`, `{"a/b":{"x":1},"a~b":2}`, `{"a/b":1,"a/b":2}`, `{"a~b":1,"a~b":2}`,
	`{"a\u0062":1,"ab":2}`, `{"\"":1,"\"":2}`, `{"a\\":1,"a\\":2}`, `{"é":1,"é":2}`, `{"é":1,"e":2}`,
	"{\"\xff\":1,\"\xfe\":2}", `{"a":"}","a":1}`, `{"a":"\"","b":"{","a":0}`, `{"":1,"":2}`,
	`{"a":1 "a":2}`, `{"a":01,"a":2}`, `{"a":1,"a":}`, `{"a":1,"a"`, `{"a":1,`, `{"a":tru,"a":1}`,
	`{"query":"{ case(id: \"x\") { id } }","variables":{"id":"case_acme_1001"}}`,
	`{"query":"q","variables":{"a":[1,2,{"b":null,"c":true}],"d":-1.5e+10},"operationName":"Op"}`,
	`[{"a":1},{"a":1}]`, `[[[{"x":[],"y":{},"x":0}]]]`, `{"a":{"a":{"a":{"a":1}}},"b":{"a":1,"b":2}}`,
	`{"a":1,"\u0061":2}`, `{"/":1,"\/":2}`, `{"\t":1,"\u0009":2}`, `{"a":{"b":1},"b":{"b":1},"a ":0}`,
	`{"A":1,"a":2}`, `{"a":1}` + "\x00", `{"a":"\ud83d\ude00","b":"\uDBFF\uDFFF\u00e9"}`, `["\udc00\ud800","\ud800\u0041"]`,
	`["\\ud800","\ud800\\udc00","\uFFFD"]`, "[\"\xef\xbf\xbd\",\"\xf0\x9f\x98\x80\"]", "[\"\xc3\"]", "[\"\xf4\x90\x80\x80\"]", `{"a":1}` + "\n\t\r ", "\ufeff{}", `{"a":"\ud800","a":1}`,
	"{\"\xff\":1,\"\xff\":2}", "{\"\xed\xa0\x80\":1,\"\ufffd\":2}", `{"a":[1,{"a":1,"b":[{"a":1,"a":2}]}]}`,
	strings.Repeat(`{"a":`, 20) + `{"b":1,"b":2}` + strings.Repeat("}", 20),
}

// deepJSONCases nest at and beyond MaxJSONDepth, and beyond json.Valid's
// depth limit (10000); they are checked once, not mutated.
var deepJSONCases = []string{
	strings.Repeat(`[`, MaxJSONDepth) + strings.Repeat(`]`, MaxJSONDepth),
	strings.Repeat(`[`, MaxJSONDepth+1) + strings.Repeat(`]`, MaxJSONDepth+1),
	strings.Repeat(`{"a":`, MaxJSONDepth-1) + `{"b":1,"b":2}` + strings.Repeat(`}`, MaxJSONDepth-1),
	strings.Repeat(`{"a":`, MaxJSONDepth) + `{"b":1,"b":2}` + strings.Repeat(`}`, MaxJSONDepth),
	strings.Repeat(`{"a":`, MaxJSONDepth-1) + `{"b":[],"c":{}}` + strings.Repeat(`}`, MaxJSONDepth-1),
	strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001),
	strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat(`}`, 10001),
}

// strictJSON is what checkJSON must answer: checkText's refusals, then
// scanJSON's.
func strictJSON(data []byte) *FieldError {
	if fe := checkText(data); fe != nil {
		return fe
	}
	return scanJSON(data)
}

// TestCheckJSONMatchesScan checks the allocation-free path of checkJSON
// against the token-by-token scan it skips, on hand-picked bodies and
// random mutations of them (which checkText refuses too when they break
// its rules).
func TestCheckJSONMatchesScan(t *testing.T) {
	check := func(data string) {
		t.Helper()
		if got, want := checkJSON([]byte(data)), strictJSON([]byte(data)); !reflect.DeepEqual(got, want) {
			t.Errorf("checkJSON(%q) = %+v, strictJSON says %+v", data, got, want)
		}
	}
	for _, c := range jsonCases {
		check(c)
	}
	for _, c := range deepJSONCases {
		check(c)
	}
	many := make([]string, 100)
	for i := range many {
		many[i] = `"k` + strings.Repeat("x", i) + `":` + "1"
	}
	check("{" + strings.Join(many, ",") + "}")
	check("{" + strings.Join(many, ",") + `,"k":2}`)
	check("{" + strings.Join(many, ",") + `,"kxxx":2}`)
	check(`{"a":{` + strings.Join(many, ",") + `},"b":{` + strings.Join(many, ",") + `}}`)
	check(`[{` + strings.Join(many, ",") + `},{"k":1,` + strings.Join(many[50:], ",") + `}]`)
	check(`{"a":{` + strings.Join(many, ",") + `},` + strings.Join(many, ",") + `}`)
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte(`{}[],:"\ab01 .-eu`)
	alphabet = append(alphabet, 'd', '8', 'c', 0xff, 0xc3, 0xa9)
	for range 20000 {
		b := []byte(jsonCases[rng.IntN(len(jsonCases))])
		for range 1 + rng.IntN(3) {
			switch op := rng.IntN(3); {
			case op == 0 && len(b) > 0: // delete
				i := rng.IntN(len(b))
				b = append(b[:i], b[i+1:]...)
			case op == 1: // insert
				i := rng.IntN(len(b) + 1)
				b = append(b[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
			case len(b) > 0: // duplicate a span
				i := rng.IntN(len(b))
				j := i + rng.IntN(len(b)-i)
				k := rng.IntN(len(b) + 1)
				b = append(b[:k:k], append(append([]byte{}, b[i:j]...), b[k:]...)...)
			}
		}
		check(string(b))
		checkTextRules(t, b)
	}
}

// checkTextRules checks checkText's refusals against encoding/json: what
// it lets through is UTF-8, nests no deeper than MaxJSONDepth and, when it
// is valid JSON, decodes to no U+FFFD the body did not spell out; a
// surrogate it refuses decodes to one.
func checkTextRules(t *testing.T, data []byte) {
	t.Helper()
	fe := checkText(data)
	if fe == nil && !utf8.Valid(data) {
		t.Errorf("checkText(%q) let bytes that are not UTF-8 through", data)
	}
	if !json.Valid(data) {
		return
	}
	depth, maxDepth, replaced := 0, 0, false
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case json.Delim:
			if tok == '{' || tok == '[' {
				depth++
				maxDepth = max(maxDepth, depth)
			} else {
				depth--
			}
		case string:
			replaced = replaced || strings.ContainsRune(tok, utf8.RuneError)
		}
	}
	spelt := bytes.Contains(data, []byte("\xef\xbf\xbd")) || bytes.Contains(bytes.ToLower(data), []byte(`\ufffd`))
	switch {
	case fe == nil && maxDepth > MaxJSONDepth:
		t.Errorf("checkText(%q) let %d levels through", data, maxDepth)
	case fe != nil && fe.Reason == reasonTooDeep && maxDepth <= MaxJSONDepth:
		t.Errorf("checkText(%q) refused %d levels: %+v", data, maxDepth, fe)
	case fe == nil && replaced && !spelt:
		t.Errorf("checkText(%q) let through what decodes to U+FFFD", data)
	case fe != nil && fe.Reason == reasonSurrogate && !replaced:
		t.Errorf("checkText(%q) refused a surrogate that decodes: %+v", data, fe)
	}
}

// FuzzCheckJSON compares checkJSON with strictJSON on any input.
func FuzzCheckJSON(f *testing.F) {
	for _, c := range jsonCases {
		f.Add([]byte(c))
	}
	for _, c := range deepJSONCases[:5] {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if got, want := checkJSON(data), strictJSON(data); !reflect.DeepEqual(got, want) {
			t.Errorf("checkJSON(%q) = %+v, strictJSON says %+v", data, got, want)
		}
		checkTextRules(t, data)
	})
}
