package graphql

import (
	"context"
	"testing"

	machinebox "github.com/machinebox/graphql"
)

// TestThirdPartyClient drives the transport with machinebox/graphql, a
// widely used Go GraphQL client, the way an integrator would.
func TestThirdPartyClient(t *testing.T) {
	h := newHarness(t, Limits{})
	client := machinebox.NewClient(h.srv.URL + "/v1/graphql")
	ctx := context.Background()

	req := machinebox.NewRequest(`query Case($id: ID!) { case(id: $id) { number status notes(first: 5) { nodes { body } } } }`)
	req.Var("id", "case_acme_1002")
	req.Header.Set("Authorization", "Bearer acme-writer")
	var got struct {
		Case struct {
			Number string
			Status string
			Notes  struct{ Nodes []struct{ Body string } }
		}
	}
	if err := client.Run(ctx, req, &got); err != nil {
		t.Fatal(err)
	}
	if got.Case.Number != "ACME-1002" || got.Case.Status != "IN_PROGRESS" || len(got.Case.Notes.Nodes) != 1 {
		t.Errorf("case = %+v", got.Case)
	}

	mut := machinebox.NewRequest(`mutation Close($id: ID!, $r: String!) { closeCase(id: $id, resolution: $r) { status version } }`)
	mut.Var("id", "case_acme_1002")
	mut.Var("r", "Device wiped and replaced.")
	mut.Header.Set("Authorization", "Bearer acme-writer")
	var closed struct {
		CloseCase struct {
			Status  string
			Version int
		}
	}
	if err := client.Run(ctx, mut, &closed); err != nil {
		t.Fatal(err)
	}
	if closed.CloseCase.Status != "CLOSED" || closed.CloseCase.Version != 2 {
		t.Errorf("closeCase = %+v", closed.CloseCase)
	}
	if n := len(h.events.all()); n != 1 {
		t.Errorf("events = %d, want 1", n)
	}

	tests := []struct {
		name, token, query, wantErr string
	}{
		{name: "foreign case", token: "acme-writer", query: `{ case(id: "case_globex_2001") { number } }`, wantErr: "graphql: no case with this id"},
		{name: "missing scope", token: "acme-none", query: `{ case(id: "case_acme_1001") { number } }`, wantErr: "graphql: the access token lacks the cases:read scope this field requires"},
		{name: "introspection", token: "acme-writer", query: `{ __schema { queryType { name } } }`, wantErr: "graphql: introspection is disabled: __schema and __type cannot be queried; the schema is published as SDL"},
		{name: "bad token", token: "forged", query: `{ viewer { clientId } }`, wantErr: "graphql: a valid bearer access token for the GraphQL resource is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := machinebox.NewRequest(tt.query)
			r.Header.Set("Authorization", "Bearer "+tt.token)
			var out map[string]any
			err := client.Run(ctx, r, &out)
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("err = %v, want %s", err, tt.wantErr)
			}
		})
	}
}
