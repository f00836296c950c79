package jsonscan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// stdMaxDepth is how deep json.Valid and json.Unmarshal let text nest.
const stdMaxDepth = 10000

// cases are texts on both sides of every rule of the grammar and of the
// repairs encoding/json makes.
var cases = []string{
	``, ` `, `{}`, `[]`, `null`, `true`, `false`, `nul`, `nulll`, `truex`, `1`, `-0`, `-`, `01`, `1.`, `.5`, `1e`, `1e+`,
	`1E-2`, `-1.5e+10`, `+1`, `0x1`, `NaN`, `1 2`, `"s"`, `"`, `"\"`, `"\\"`, `"a\/b"`, `"\b\f\n\r\t"`, `"\a"`, `"\x41"`,
	`"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u12"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ude00"`, `"\ud83d\u0041"`, `"\ud83dx"`,
	`"\ud83d\ud83d\ude00"`, `"\u0000"`, `"\uFFFD"`, "\"a\tb\"", "\"a\x01b\"", "\"\x7f\"", "\"\xff\"", "\"\xc3\xa9\"", "\"\xc3\"",
	"\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", `{"a":1}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a" 1}`, `{a:1}`, `{"a":}`, `{,}`, `{"a":1`,
	`[1,]`, `[,1]`, `[1 2]`, `[1,,2]`, `[[]]`, `[{}]`, `{"a":[1,{"b":null}],"c":"d"}`, `{"a":1,"a":2}`, `{"\u0061":1}`,
	`{"a":{"b":{"c":[true,false,null,-1,2.5e3,"x"]}}}`, `{}{}`, `{} x`, `{}]`, "\ufeff{}", "{}\x00", "\t\r\n {} \t\r\n", "\u00a0{}",
	`{"query":"{ a }","variables":{"id":"x","n":12345678901234567890,"f":1.0e-400}}`, `[1]]`, `{"a":1}}`, `]`, `}`, `[`, `{`,
	strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40), strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40),
}

// stdAny is what Scanner.Any must agree with: encoding/json with
// UseNumber, on text that is one valid value.
func stdAny(data []byte) (any, error) {
	if !json.Valid(data) {
		return nil, errInvalid
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	err := dec.Decode(&v)
	return v, err
}

var errInvalid = errors.New("not one valid JSON value")

// mutate returns data with one to three random edits from alphabet.
func mutate(rng *rand.Rand, data []byte) []byte {
	b := bytes.Clone(data)
	alphabet := []byte("{}[],:\"\\ab01 .-eEu+nultrsfd8c\t\x01\xff\xc3\xa9\xed")
	for range 1 + rng.IntN(3) {
		switch op := rng.IntN(3); {
		case op == 0 && len(b) > 0:
			i := rng.IntN(len(b))
			b = append(b[:i], b[i+1:]...)
		case op == 1:
			i := rng.IntN(len(b) + 1)
			b = append(b[:i], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[i:]...)...)
		case len(b) > 0:
			i := rng.IntN(len(b))
			j := i + rng.IntN(len(b)-i)
			k := rng.IntN(len(b) + 1)
			b = append(b[:k:k], append(append([]byte{}, b[i:j]...), b[k:]...)...)
		}
	}
	return b
}

// corpus is cases and random mutations of them.
func corpus() [][]byte {
	rng := rand.New(rand.NewPCG(5, 6))
	var out [][]byte
	for _, c := range cases {
		out = append(out, []byte(c))
	}
	for range 30000 {
		out = append(out, mutate(rng, []byte(cases[rng.IntN(len(cases))])))
	}
	return out
}

// TestValidIsJSONValid checks Valid against json.Valid, at its depth
// bound and around it.
func TestValidIsJSONValid(t *testing.T) {
	for _, data := range corpus() {
		checkValid(t, data)
	}
	for _, n := range []int{stdMaxDepth, stdMaxDepth + 1} {
		checkValid(t, []byte(strings.Repeat(`[`, n)+strings.Repeat(`]`, n)))
		checkValid(t, []byte(strings.Repeat(`{"a":`, n)+"1"+strings.Repeat(`}`, n)))
	}
	deep := []byte(strings.Repeat(`[`, 8) + strings.Repeat(`]`, 8))
	if !Valid(deep, 8) || Valid(deep, 7) {
		t.Errorf("Valid(8 levels) at bound 8 and 7: want true, false")
	}
}

func checkValid(t *testing.T, data []byte) {
	t.Helper()
	if got, want := Valid(data, stdMaxDepth), json.Valid(data); got != want {
		t.Errorf("Valid(%q) = %v, json.Valid says %v", data, got, want)
	}
}

// TestAnyIsUnmarshal checks Scanner.Any against encoding/json: what it
// decodes, it decodes alike; and it decodes every valid text that
// encoding/json need not repair (Check finds no flaw).
func TestAnyIsUnmarshal(t *testing.T) {
	for _, data := range corpus() {
		checkAny(t, data)
	}
}

func checkAny(t *testing.T, data []byte) {
	t.Helper()
	s := NewScanner(data)
	got, ok := s.Any(64)
	ok = ok && s.End()
	want, err := stdAny(data)
	switch {
	case ok && err != nil:
		t.Errorf("Any(%q) = %#v, encoding/json refuses: %v", data, got, err)
	case ok && !reflect.DeepEqual(got, want):
		t.Errorf("Any(%q) = %#v, encoding/json decodes %#v", data, got, want)
	case !ok && err == nil:
		if _, flaw := Check(data, 64); flaw == NoFlaw {
			t.Errorf("Any(%q) refused what encoding/json decodes as written: %#v", data, want)
		}
	}
}

// TestCheck names the flaw and where it is.
func TestCheck(t *testing.T) {
	tests := []struct {
		data string
		at   int
		flaw Flaw
	}{
		{`{"a":[1,"b"]}`, -1, NoFlaw},
		{`[[[]]]`, -1, NoFlaw},
		{`[[[[]]]]`, 3, TooDeep},
		{`["[[[[",{"a":"]]]]"}]`, -1, NoFlaw},
		{`[}}}}[[[[`, 8, TooDeep}, // closing brackets never go below zero
		{"[\"a\xffb\"]", 3, NotUTF8},
		{"[1,\xff]", 3, NotUTF8},
		{`["\ud83d\ude00"]`, -1, NoFlaw},
		{`["ab\ud83d"]`, 4, HalfSurrogate},
		{`["\ude00"]`, 2, HalfSurrogate},
		{`["\ud83d\u0041"]`, 2, HalfSurrogate},
		{`["\\ud83d"]`, -1, NoFlaw},
		{`["\uzzzz\ud800"]`, 8, HalfSurrogate},
		{`"\`, -1, NoFlaw},
		{"\"\\\xff\"", 2, NotUTF8},
	}
	for _, tt := range tests {
		if at, flaw := Check([]byte(tt.data), 3); at != tt.at || flaw != tt.flaw {
			t.Errorf("Check(%q) = %d, %d; want %d, %d", tt.data, at, flaw, tt.at, tt.flaw)
		}
	}
}

// TestStrings checks where strings end and which are plain.
func TestStrings(t *testing.T) {
	tests := []struct {
		data  string
		end   int
		plain bool
	}{
		{`"abc" x`, 4, true},
		{`"" x`, 1, true},
		{`"a\"b" x`, 5, false},
		{`"a\\" x`, 4, false},
		{`"é" x`, 3, false},
		{"\"a\tb\" x", 4, false},
		{"\"~\x7f\" x", 3, true},
		{`"abc`, 4, false},
		{`"ab\`, 4, false},
	}
	for _, tt := range tests {
		if end := StringEnd([]byte(tt.data), 0); end != tt.end {
			t.Errorf("StringEnd(%q) = %d, want %d", tt.data, end, tt.end)
		}
		end, plain := PlainString([]byte(tt.data), 0)
		if plain != tt.plain || plain && end != tt.end {
			t.Errorf("PlainString(%q) = %d, %v; want %d, %v", tt.data, end, plain, tt.end, tt.plain)
		}
	}
}

// TestMembers reads objects member by member, as the callers do.
func TestMembers(t *testing.T) {
	tests := []struct {
		data string
		keys string
		ok   bool
	}{
		{`{}`, "", true},
		{` { "a" : 1 , "b":{"c":[2]} } `, "a,b", true},
		{`{"a":1,}`, "a", false},
		{`{"a":1 "b":2}`, "a", false},
		{`{"a":1}x`, "a", false},
		{`{"a\n":1}`, "", false}, // not plain
		{`{"a":1`, "a", false},
	}
	for _, tt := range tests {
		s := NewScanner([]byte(tt.data))
		if !s.Open('{') {
			t.Fatalf("%q: no object", tt.data)
		}
		var keys []string
		ok := true
		for first := true; s.More('}', first); first = false {
			key, kok := s.PlainKey()
			if !kok || !s.Skip(8) {
				ok = false
				break
			}
			keys = append(keys, string(key))
		}
		ok = ok && s.End()
		if got := strings.Join(keys, ","); got != tt.keys || ok != tt.ok {
			t.Errorf("%q: keys %q, ok %v; want %q, %v", tt.data, got, ok, tt.keys, tt.ok)
		}
	}
}

// TestSkipAllocatesNothing: skipping a value nested within the scanner's
// own stack allocates nothing.
func TestSkipAllocatesNothing(t *testing.T) {
	data := []byte(`{"a":[1,{"b":"c\n\u00e9"},true,null],"d":` + strings.Repeat(`[`, 31) + strings.Repeat(`]`, 31) + `}`)
	if n := testing.AllocsPerRun(100, func() {
		if !Valid(data, 64) {
			t.Fatal("invalid")
		}
	}); n != 0 {
		t.Errorf("Valid allocated %v times", n)
	}
}

func FuzzValid(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkValid(t, data) })
}

func FuzzAny(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkAny(t, data) })
}

var benchBody = []byte(`{"query":"query Case($id: ID!) { case(id: $id) { id number title status priority notes(first: 20) { totalCount edges { node { id body createdAt } } } } }",` +
	`"variables":{"id":"case_acme_1001","input":{"tags":["a","b"],"title":"x\"y\n","n":-12.5e3,"ok":true,"none":null}}}`)

func BenchmarkValid(b *testing.B) {
	b.Run("jsonscan", func(b *testing.B) {
		for b.Loop() {
			Valid(benchBody, 64)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			json.Valid(benchBody)
		}
	})
}

func BenchmarkAny(b *testing.B) {
	b.Run("jsonscan", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s := NewScanner(benchBody)
			if _, ok := s.Any(64); !ok {
				b.Fatal("refused")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := stdAny(benchBody); err != nil {
				b.Fatal(err)
			}
		}
	})
}
