package conformance_test

import (
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
	"github.com/knogin/argus-sandbox/sandboxtest"
)

// TestNotesCountedForTheRun: on a shared sandbox whose case already holds
// many notes (earlier runs' write-backs), a run counts only its own: the
// write-back scenario still passes, and a consumer that writes twice
// still fails.
func TestNotesCountedForTheRun(t *testing.T) {
	sb := sandboxtest.New(t)
	ctx := t.Context()
	app, err := sb.RegisterApp(ctx, "acme", "cases:write")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sb.Token(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	gql := sb.Client().With(client.WithToken(tok)).GraphQL()
	for i := range 150 {
		req := client.GraphQLRequest{Query: `mutation($id: ID!, $body: String!) { addCaseNote(caseId: $id, body: $body) { id } }`,
			Variables: map[string]any{"id": "case_acme_1002", "body": "an earlier run's note"}}
		if err := gql.Do(ctx, req, nil); err != nil {
			t.Fatalf("note %d: %v", i, err)
		}
	}
	for _, tt := range []struct {
		bug  consumer.Bug
		want conformance.Status
	}{{consumer.BugNone, conformance.StatusPass}, {consumer.BugNoDedupe, conformance.StatusFail}} {
		rep, err := sb.RunConformance(ctx, conformance.Config{Consumer: inProcess(tt.bug), StateDir: t.TempDir(), Run: "^response-lost$"})
		if err != nil {
			t.Fatal(err)
		}
		if got := rep.Scenarios[0].Status; got != tt.want {
			var b strings.Builder
			_ = rep.WriteText(&b)
			t.Errorf("%q consumer: response-lost %s, want %s\n%s", tt.bug, got, tt.want, b.String())
		}
	}
}
