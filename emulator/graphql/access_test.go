package graphql

import (
	"strconv"
	"strings"
	"testing"
)

// TestScopes checks the per-field scope rules: cases:read for reads,
// cases:write for mutations, users:read for users.
func TestScopes(t *testing.T) {
	h := newHarness(t, Limits{})
	tests := []struct {
		name, token, query, want string
	}{
		{
			name: "reading cases needs cases:read", token: "acme-none",
			query: `{ case(id: "case_acme_1001") { number } viewer { clientId } }`,
			want:  `{"data":{"case":null,"viewer":{"clientId":"cli_none"}},"errors":[{"message":"the access token lacks the cases:read scope this field requires","locations":[{"line":1,"column":3}],"path":["case"],"extensions":{"code":"FORBIDDEN","scope":"cases:read"}}]}`,
		},
		{
			name: "mutations need cases:write", token: "acme-reader",
			query: `mutation { closeCase(id: "case_acme_1001", resolution: "Done.") { status } }`,
			want:  `{"data":{"closeCase":null},"errors":[{"message":"the access token lacks the cases:write scope this field requires","locations":[{"line":1,"column":12}],"path":["closeCase"],"extensions":{"code":"FORBIDDEN","scope":"cases:write"}}]}`,
		},
		{
			name: "users need users:read", token: "acme-reader",
			query: `{ users { totalCount } case(id: "case_acme_1003") { number assignee { name } } }`,
			want:  `{"data":{"users":null,"case":{"number":"ACME-1003","assignee":null}},"errors":[{"message":"the access token lacks the users:read scope this field requires","locations":[{"line":1,"column":3}],"path":["users"],"extensions":{"code":"FORBIDDEN","scope":"users:read"}},{"message":"the access token lacks the users:read scope this field requires","locations":[{"line":1,"column":60}],"path":["case","assignee"],"extensions":{"code":"FORBIDDEN","scope":"users:read"}}]}`,
		},
		{
			name: "users with users:read", token: "acme-all",
			query: `{ users(first: 2) { totalCount nodes { id name email role } } user(id: "usr_acme_bob") { name } }`,
			want:  `{"data":{"users":{"totalCount":3,"nodes":[{"id":"usr_acme_alice","name":"Alice Martin","email":"alice@acme.example","role":"investigator"},{"id":"usr_acme_bob","name":"Bob Chen","email":"bob@acme.example","role":"supervisor"}]},"user":{"name":"Bob Chen"}}}`,
		},
		{
			name: "listing bundles needs graphql:bundles", token: "acme-all",
			query: `{ approvedBundles { id } }`,
			want:  `{"data":{"approvedBundles":null},"errors":[{"message":"the access token lacks the graphql:bundles scope this field requires","locations":[{"line":1,"column":3}],"path":["approvedBundles"],"extensions":{"code":"FORBIDDEN","scope":"graphql:bundles"}}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diff(t, js(t, tt.want), h.gql(tt.token, tt.query, nil))
		})
	}
	if got := h.events.all(); len(got) != 0 {
		t.Errorf("refused mutations emitted events: %v", got)
	}
}

// TestTenantIsolation checks that another tenant's ids answer exactly like
// ids that do not exist, for queries, aliases and mutations.
func TestTenantIsolation(t *testing.T) {
	h := newHarness(t, Limits{})
	notFound := func(path string, col int) string {
		return `{"message":"no case with this id","locations":[{"line":1,"column":` + strconv.Itoa(col) + `}],"path":["` + path + `"],"extensions":{"code":"NOT_FOUND"}}`
	}
	tests := []struct {
		name, query, want string
	}{
		{
			name:  "query",
			query: `{ case(id: "case_globex_2001") { id } }`,
			want:  `{"data":{"case":null},"errors":[` + notFound("case", 3) + `]}`,
		},
		{
			name:  "aliases enumerating ids",
			query: `{ a: case(id: "case_globex_2001") { id } b: case(id: "case_globex_9999") { id } }`,
			want:  `{"data":{"a":null,"b":null},"errors":[` + notFound("a", 3) + `,` + notFound("b", 42) + `]}`,
		},
		{
			name:  "mutation",
			query: `mutation { a: closeCase(id: "case_globex_2001", resolution: "x") { id } b: closeCase(id: "case_globex_9999", resolution: "x") { id } }`,
			want:  `{"data":{"a":null,"b":null},"errors":[` + notFound("a", 12) + `,` + notFound("b", 73) + `]}`,
		},
		{
			name:  "note on a foreign case",
			query: `mutation { a: addCaseNote(caseId: "case_globex_2001", body: "x") { id } }`,
			want:  `{"data":{"a":null},"errors":[` + notFound("a", 12) + `]}`,
		},
		{
			name:  "filter by a foreign assignee",
			query: `{ cases(filter: {assigneeId: "usr_globex_dana"}) { totalCount } }`,
			want:  `{"data":{"cases":{"totalCount":0}}}`,
		},
		{
			name:  "assigning a foreign user",
			query: `mutation { a: assignCase(id: "case_acme_1003", assigneeId: "usr_globex_dana") { id } b: assignCase(id: "case_acme_1003", assigneeId: "usr_nobody") { id } }`,
			want:  `{"data":{"a":null,"b":null},"errors":[{"message":"assigneeId: no user with this id","locations":[{"line":1,"column":12}],"path":["a"],"extensions":{"code":"BAD_USER_INPUT"}},{"message":"assigneeId: no user with this id","locations":[{"line":1,"column":86}],"path":["b"],"extensions":{"code":"BAD_USER_INPUT"}}]}`,
		},
		{
			name:  "foreign user",
			query: `{ user(id: "usr_globex_dana") { name } }`,
			want:  `{"data":{"user":null},"errors":[{"message":"no user with this id","locations":[{"line":1,"column":3}],"path":["user"],"extensions":{"code":"NOT_FOUND"}}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			diff(t, js(t, tt.want), h.gql("acme-all", tt.query, nil))
		})
	}
	// A globex cursor is as invalid for acme as garbage.
	got := h.gql("globex-all", `{ cases(first: 1) { pageInfo { endCursor } } }`, nil)
	cursor := got["data"].(map[string]any)["cases"].(map[string]any)["pageInfo"].(map[string]any)["endCursor"]
	diff(t, h.gql("acme-all", `query Q($c: String) { cases(after: $c) { totalCount } }`, map[string]any{"c": "garbage"}),
		h.gql("acme-all", `query Q($c: String) { cases(after: $c) { totalCount } }`, map[string]any{"c": cursor}))
	// Nothing changed in globex and no event left for it.
	diff(t, js(t, `{"data":{"case":{"status":"OPEN","version":1,"notes":{"totalCount":1}}}}`),
		h.gql("globex-all", `{ case(id: "case_globex_2001") { status version notes { totalCount } } }`, nil))
	if got := h.events.all(); len(got) != 0 {
		t.Errorf("refused mutations emitted events: %v", got)
	}
}

// TestNoSchemaLeaks checks that introspection is refused and that no
// validation error suggests names.
func TestNoSchemaLeaks(t *testing.T) {
	h := newHarness(t, Limits{})
	tests := []struct {
		name, query, want string
	}{
		{
			name:  "__schema",
			query: `{ __schema { types { name } } }`,
			want:  `{"errors":[{"message":"introspection is disabled: __schema and __type cannot be queried; the schema is published as SDL","locations":[{"line":1,"column":3}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name:  "__type hidden in a fragment",
			query: `{ ...F } fragment F on Query { __type(name: "Case") { fields { name } } }`,
			want:  `{"errors":[{"message":"introspection is disabled: __schema and __type cannot be queried; the schema is published as SDL","locations":[{"line":1,"column":32}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name:  "misspelled field",
			query: `{ case(id: "case_acme_1001") { titel } }`,
			want:  `{"errors":[{"message":"Cannot query field \"titel\" on type \"Case\".","locations":[{"line":1,"column":32}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name:  "misspelled argument",
			query: `{ cases(firts: 2) { totalCount } }`,
			want:  `{"errors":[{"message":"Unknown argument \"firts\" on field \"Query.cases\".","locations":[{"line":1,"column":3}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name:  "misspelled enum value",
			query: `{ cases(filter: {status: [OPNE]}) { totalCount } }`,
			want:  `{"errors":[{"message":"Value \"OPNE\" does not exist in \"CaseStatus!\" enum.","locations":[{"line":1,"column":27}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name:  "misspelled input field",
			query: `{ cases(filter: {stauts: [OPEN]}) { totalCount } }`,
			want:  `{"errors":[{"message":"Field \"stauts\" is not defined by type \"CaseFilter\".","locations":[{"line":1,"column":18}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name:  "misspelled type",
			query: `query Q($f: CaseFiltr) { cases(filter: $f) { totalCount } }`,
			want:  `{"errors":[{"message":"Unknown type \"CaseFiltr\".","locations":[{"line":1,"column":9}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}},{"message":"Variable \"$f\" of type \"CaseFiltr\" cannot be used in this position.","locations":[{"line":1,"column":40}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name:  "variable of a wrong type",
			query: `query Q($f: String) { cases(filter: $f) { totalCount } }`,
			want:  `{"errors":[{"message":"Variable \"$f\" of type \"String\" cannot be used in this position.","locations":[{"line":1,"column":37}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name:  "missing sub-selection",
			query: `{ case(id: "case_acme_1001") { notes } }`,
			want:  `{"errors":[{"message":"Field \"notes\" of type \"NoteConnection!\" must have a selection of subfields.","locations":[{"line":1,"column":32}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
		{
			name:  "partner field by document",
			query: `mutation { mergeCases(target: "case_acme_1001", sources: ["case_acme_1003"]) { id } }`,
			want:  `{"errors":[{"message":"Cannot query field \"mergeCases\" on type \"Mutation\".","locations":[{"line":1,"column":12}],"extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := h.gql("acme-partner", tt.query, nil)
			diff(t, js(t, tt.want), got)
			for _, e := range got["errors"].([]any) {
				if msg := e.(map[string]any)["message"].(string); strings.Contains(msg, "Did you mean") {
					t.Errorf("error suggests names: %s", msg)
				}
			}
		})
	}
}
