package graphql

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestExecutor covers the execution algorithm of the GraphQL spec (§6):
// fragments, variables, aliases, directives, merging, abstract types,
// null propagation and errors with paths and locations.
func TestExecutor(t *testing.T) {
	h := newHarness(t, Limits{})
	tests := []struct {
		name  string
		token string
		query string
		vars  map[string]any
		op    string
		want  string
	}{
		{
			name:  "named and nested fragments",
			query: `query { case(id: "case_acme_1002") { ...Head notes { ...Notes } } } fragment Head on Case { number ...Status } fragment Status on Case { status priority } fragment Notes on NoteConnection { totalCount nodes { body } }`,
			want:  `{"data":{"case":{"number":"ACME-1002","status":"IN_PROGRESS","priority":"MEDIUM","notes":{"totalCount":1,"nodes":[{"body":"Remote wipe requested; waiting for the device to come online."}]}}}}`,
		},
		{
			name:  "inline fragments on an interface and __typename",
			token: "acme-all",
			query: `{ viewer { __typename clientId ... on UserViewer { userId } ... on AppViewer { subject } } }`,
			want:  `{"data":{"viewer":{"__typename":"UserViewer","clientId":"cli_web","userId":"usr_acme_alice"}}}`,
		},
		{
			name:  "inline fragment that does not apply",
			query: `{ viewer { __typename ... on UserViewer { userId } ... { clientId } } }`,
			want:  `{"data":{"viewer":{"__typename":"AppViewer","clientId":"cli_reader"}}}`,
		},
		{
			name:  "aliases",
			query: `{ first: case(id: "case_acme_1001") { n: number } second: case(id: "case_acme_1004") { n: number s: status } }`,
			want:  `{"data":{"first":{"n":"ACME-1001"},"second":{"n":"ACME-1004","s":"CLOSED"}}}`,
		},
		{
			name:  "fields of one response key are merged",
			query: `{ case(id: "case_acme_1001") { number } case(id: "case_acme_1001") { title } }`,
			want:  `{"data":{"case":{"number":"ACME-1001","title":"Suspicious wire transfer to an offshore account"}}}`,
		},
		{
			name:  "variables and argument defaults",
			query: `query Q($id: ID!, $n: Int = 1) { case(id: $id) { notes(first: $n) { nodes { id } pageInfo { hasNextPage } } } }`,
			vars:  map[string]any{"id": "case_acme_1001"},
			want:  `{"data":{"case":{"notes":{"nodes":[{"id":"note_acme_1001_1"}],"pageInfo":{"hasNextPage":true}}}}}`,
		},
		{
			name:  "explicit null variable overrides the default",
			query: `query Q($f: CaseFilter = {tag: "fraud"}) { cases(filter: $f) { totalCount } }`,
			vars:  map[string]any{"f": nil},
			want:  `{"data":{"cases":{"totalCount":4}}}`,
		},
		{
			name:  "variable default used when absent",
			query: `query Q($f: CaseFilter = {tag: "fraud"}) { cases(filter: $f) { totalCount } }`,
			want:  `{"data":{"cases":{"totalCount":1}}}`,
		},
		{
			name:  "a single value coerces to a list",
			query: `query Q($s: [CaseStatus!]) { cases(filter: {status: $s}) { nodes { id } } }`,
			vars:  map[string]any{"s": "CLOSED"},
			want:  `{"data":{"cases":{"nodes":[{"id":"case_acme_1004"}]}}}`,
		},
		{
			name:  "variables inside input object literals",
			query: `query Q($tag: String) { cases(filter: {tag: $tag, status: [OPEN, IN_PROGRESS]}, first: 5) { nodes { id } } }`,
			vars:  map[string]any{"tag": "security"},
			want:  `{"data":{"cases":{"nodes":[{"id":"case_acme_1002"}]}}}`,
		},
		{
			name:  "skip and include",
			query: `query Q($yes: Boolean!, $no: Boolean!) { case(id: "case_acme_1001") { a: number @include(if: $yes) b: number @include(if: $no) c: number @skip(if: $yes) d: number @skip(if: false) ...F @skip(if: true) ... @include(if: $yes) { status } } } fragment F on Case { title }`,
			vars:  map[string]any{"yes": true, "no": false},
			want:  `{"data":{"case":{"a":"ACME-1001","d":"ACME-1001","status":"OPEN"}}}`,
		},
		{
			name:  "nullable field error with path and location",
			query: "{\n  a: case(id: \"case_acme_1001\") { number }\n  b: case(id: \"case_missing\") { number }\n}",
			want:  `{"data":{"a":{"number":"ACME-1001"},"b":null},"errors":[{"message":"no case with this id","locations":[{"line":3,"column":3}],"path":["b"],"extensions":{"code":"NOT_FOUND"}}]}`,
		},
		{
			name:  "a non-null field error nulls its nearest nullable parent",
			query: `{ case(id: "case_acme_1001") { number notes(first: 0) { totalCount } } other: case(id: "case_acme_1002") { number } }`,
			want:  `{"data":{"case":null,"other":{"number":"ACME-1002"}},"errors":[{"message":"first must be between 1 and 100","locations":[{"line":1,"column":39}],"path":["case","notes"],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
		},
		{
			name:  "a null list item of a non-null list nulls the list's parent",
			query: `{ cases(first: 2) { totalCount nodes { number notes(first: 101) { totalCount } } } }`,
			want:  `{"data":{"cases":null},"errors":[{"message":"first must be between 1 and 100","locations":[{"line":1,"column":47}],"path":["cases","nodes",0,"notes"],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
		},
		{
			name:  "operation selected by name",
			query: `query A { case(id: "case_acme_1001") { number } } query B { case(id: "case_acme_1002") { number } }`,
			op:    "B",
			want:  `{"data":{"case":{"number":"ACME-1002"}}}`,
		},
		{
			name:  "several operations need a name",
			query: `query A { viewer { clientId } } query B { viewer { subject } }`,
			want:  `{"errors":[{"message":"the document has several operations: name one with operationName","extensions":{"code":"OPERATION_NAME_REQUIRED"}}]}`,
		},
		{
			name:  "unknown operation name",
			query: `query A { viewer { clientId } }`,
			op:    "C",
			want:  `{"errors":[{"message":"the document has no operation named C","extensions":{"code":"OPERATION_NOT_FOUND"}}]}`,
		},
		{
			name:  "parse error",
			query: "{ case(id: \"x\") {\n number",
			want:  `{"errors":[{"message":"Expected Name, found <EOF>","locations":[{"line":2,"column":8}],"extensions":{"code":"GRAPHQL_PARSE_FAILED"}}]}`,
		},
		{
			name:  "required variable missing",
			query: `query Q($id: ID!) { case(id: $id) { number } }`,
			want:  `{"errors":[{"message":"Variable \"$id\" of required type \"ID!\" was not provided.","locations":[{"line":1,"column":9}],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
		},
		{
			name:  "non-null variable given null",
			query: `query Q($id: ID!) { case(id: $id) { number } }`,
			vars:  map[string]any{"id": nil},
			want:  `{"errors":[{"message":"Variable \"$id\" of non-null type \"ID!\" must not be null.","locations":[{"line":1,"column":9}],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
		},
		{
			name:  "a string is not an Int",
			query: `query Q($n: Int) { cases(first: $n) { totalCount } }`,
			vars:  map[string]any{"n": "2"},
			want:  `{"errors":[{"message":"Variable \"$n\" got an invalid value: expected type Int.","locations":[{"line":1,"column":9}],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
		},
		{
			name:  "a fraction is not an Int",
			query: `query Q($n: Int) { cases(first: $n) { totalCount } }`,
			vars:  map[string]any{"n": 1.5},
			want:  `{"errors":[{"message":"Variable \"$n\" got an invalid value: expected type Int.","locations":[{"line":1,"column":9}],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
		},
		{
			name:  "enum values are case-sensitive",
			query: `query Q($f: CaseFilter) { cases(filter: $f) { totalCount } }`,
			vars:  map[string]any{"f": map[string]any{"status": []any{"open"}}},
			want:  `{"errors":[{"message":"Variable \"$f\" got an invalid value at \"status[0]\": not a value of enum CaseStatus.","locations":[{"line":1,"column":9}],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
		},
		{
			name:  "unknown input field in a variable",
			query: `query Q($f: CaseFilter) { cases(filter: $f) { totalCount } }`,
			vars:  map[string]any{"f": map[string]any{"owner": "x"}},
			want:  `{"errors":[{"message":"Variable \"$f\" got an invalid value: field \"owner\" is not defined by type CaseFilter.","locations":[{"line":1,"column":9}],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
		},
		{
			name:  "invalid cursor",
			query: `{ cases(after: "bm9wZQ") { totalCount } }`,
			want:  `{"data":{"cases":null},"errors":[{"message":"after is not a valid cursor","locations":[{"line":1,"column":3}],"path":["cases"],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token
			if token == "" {
				token = "acme-reader"
			}
			body := map[string]any{"query": tt.query}
			if tt.vars != nil {
				body["variables"] = tt.vars
			}
			if tt.op != "" {
				body["operationName"] = tt.op
			}
			r := h.post(token, body)
			if r.Status != 200 {
				t.Errorf("status = %d, want 200", r.Status)
			}
			diff(t, js(t, tt.want), r.Body)
		})
	}
}

// TestPagination walks the cases page by page with the cursors.
func TestPagination(t *testing.T) {
	h := newHarness(t, Limits{})
	var ids []any
	after := any(nil)
	for range 5 {
		got := h.gql("acme-reader", `query P($after: String) { cases(first: 1, after: $after) { totalCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`, map[string]any{"after": after})
		conn := got["data"].(map[string]any)["cases"].(map[string]any)
		edges := conn["edges"].([]any)
		if len(edges) == 0 {
			break
		}
		ids = append(ids, edges[0].(map[string]any)["node"].(map[string]any)["id"])
		page := conn["pageInfo"].(map[string]any)
		after = page["endCursor"]
		if page["hasNextPage"] == false {
			break
		}
	}
	diff(t, []any{"case_acme_1003", "case_acme_1002", "case_acme_1001", "case_acme_1004"}, ids)
}

// TestAppendLeaf covers result coercion (§3.5, §3.9) of the values and
// pointers resolvers answer.
func TestAppendLeaf(t *testing.T) {
	h := newHarness(t, Limits{})
	types := h.svc.public.Types
	s, n, n64 := "IN_PROGRESS", 42, int64(7)
	when := time.Date(2026, 3, 1, 10, 0, 0, 5, time.FixedZone("x", 3600))
	tests := []struct {
		name    string
		typ     string
		v       any
		want    string
		wantErr bool
	}{
		{name: "string", typ: "String", v: "a\"<b>", want: `"a\"\u003cb\u003e"`},
		{name: "string pointer", typ: "ID", v: &s, want: `"IN_PROGRESS"`},
		{name: "enum", typ: "CaseStatus", v: "OPEN", want: `"OPEN"`},
		{name: "enum pointer", typ: "CaseStatus", v: &s, want: `"IN_PROGRESS"`},
		{name: "not an enum value", typ: "CaseStatus", v: "open", wantErr: true},
		{name: "int", typ: "Int", v: 3, want: `3`},
		{name: "int pointer", typ: "Int", v: &n, want: `42`},
		{name: "int64", typ: "Int", v: int64(-5), want: `-5`},
		{name: "Int overflow", typ: "Int", v: int64(1) << 40, wantErr: true},
		{name: "int64 id", typ: "ID", v: n64, want: `"7"`},
		{name: "int is not an ID", typ: "ID", v: 7, wantErr: true},
		{name: "boolean", typ: "Boolean", v: true, want: `true`},
		{name: "time", typ: "DateTime", v: when, want: `"2026-03-01T09:00:00.000000005Z"`},
		{name: "time pointer", typ: "DateTime", v: &when, want: `"2026-03-01T09:00:00.000000005Z"`},
		{name: "string is not a DateTime", typ: "DateTime", v: "2026-03-01", wantErr: true},
		{name: "time is not a String", typ: "String", v: when, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := appendLeaf([]byte("x"), types[tt.typ], tt.v)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				if string(got) != "x" {
					t.Errorf("appended %q on error", got[1:])
				}
				return
			}
			if string(got) != "x"+tt.want {
				t.Errorf("got %s, want %s", got[1:], tt.want)
			}
		})
	}
}

// TestArgumentsDoNotLeakBetweenFields checks that arguments with variables,
// coerced into one map the execution reuses, start afresh for each field:
// an argument given to one field is absent from the next that omits it.
func TestArgumentsDoNotLeakBetweenFields(t *testing.T) {
	h := newHarness(t, Limits{})
	first := h.gql("acme-all", `query($n: Int!) { cases(first: $n) { edges { cursor } } }`, map[string]any{"n": 1})
	cursor := first["data"].(map[string]any)["cases"].(map[string]any)["edges"].([]any)[0].(map[string]any)["cursor"]
	both := h.gql("acme-all", `query($n: Int!, $c: String) { a: cases(first: $n, after: $c) { nodes { id } } b: cases(first: $n) { nodes { id } } }`,
		map[string]any{"n": 2, "c": cursor})
	alone := h.gql("acme-all", `query($n: Int!) { b: cases(first: $n) { nodes { id } } }`, map[string]any{"n": 2})
	diff(t, alone["data"].(map[string]any)["b"], both["data"].(map[string]any)["b"])
	if a, b := both["data"].(map[string]any)["a"], both["data"].(map[string]any)["b"]; cmp.Equal(a, b) {
		t.Errorf("after was ignored: a = b = %v", a)
	}
}

// TestNullFirstIsTheDefault checks that first: null, literal or through a
// variable, pages like an absent first (the SDL default), and that the cost
// limit counts it so.
func TestNullFirstIsTheDefault(t *testing.T) {
	h := newHarness(t, Limits{})
	const want = `{"data":{"cases":{"totalCount":4,"nodes":[{"id":"case_acme_1003"},{"id":"case_acme_1002"},{"id":"case_acme_1001"},{"id":"case_acme_1004"}]},"users":{"totalCount":3}}}`
	for _, q := range []struct {
		query string
		vars  map[string]any
	}{
		{query: `{ cases { totalCount nodes { id } } users { totalCount } }`},
		{query: `{ cases(first: null) { totalCount nodes { id } } users(first: null) { totalCount } }`},
		{query: `query($n: Int) { cases(first: $n) { totalCount nodes { id } } users(first: $n) { totalCount } }`, vars: map[string]any{"n": nil}},
	} {
		diff(t, js(t, want), h.gql("acme-all", q.query, q.vars))
	}

	// first: 20 over three fields costs 1 + 20 × 3 = 61.
	limited := newHarness(t, Limits{MaxCost: 60})
	for _, q := range []string{`{ cases { nodes { id number title } } }`, `{ cases(first: null) { nodes { id number title } } }`} {
		got := limited.gql("acme-reader", q, nil)
		errs, _ := got["errors"].([]any)
		if len(errs) != 1 || errs[0].(map[string]any)["extensions"].(map[string]any)["code"] != CodeTooComplex {
			t.Errorf("%s: %v, want QUERY_TOO_COMPLEX", q, got)
		}
	}
}

// TestPageDefaultMatchesSchema checks that defaultPage, which stands for an
// explicit null first, is the default the SDL declares on every first.
func TestPageDefaultMatchesSchema(t *testing.T) {
	h := newHarness(t, Limits{})
	n := 0
	for _, typ := range h.svc.partner.Types {
		for _, f := range typ.Fields {
			if a := f.Arguments.ForName("first"); a != nil {
				n++
				if a.DefaultValue == nil || a.DefaultValue.Raw != strconv.Itoa(defaultPage) {
					t.Errorf("%s.%s: first defaults to %v, want %d", typ.Name, f.Name, a.DefaultValue, defaultPage)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no field has a first argument")
	}
}
