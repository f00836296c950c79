package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/knogin/argus-sandbox/client"
)

// registerApp registers a client_credentials app of the tenant through the
// public platform API, as an integrator would.
func (s *sandbox) registerApp(ctx context.Context, name string, scopes []string) (client.Credentials, error) {
	app, err := s.c.Platform().CreateApp(ctx, client.AppCreate{Name: name, GrantTypes: []string{"client_credentials"},
		RequestedScopes: scopes})
	if err != nil {
		return client.Credentials{}, fmt.Errorf("register app %q: %w", name, err)
	}
	s.registered = append(s.registered, app.ID)
	return app.Credentials(), nil
}

// deleteApps deletes the apps the run registered, on a fresh context: it
// runs at the end of a run that may have been cancelled.
func (s *sandbox) deleteApps() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, id := range s.registered {
		errs = append(errs, s.c.Platform().DeleteApp(ctx, id))
	}
	s.registered = nil
	return errors.Join(errs...)
}

// setupObserver registers the runner's read-only app.
func (s *sandbox) setupObserver(ctx context.Context) error {
	var err error
	s.observer, err = s.registerApp(ctx, "Conformance observer", []string{"cases:read"})
	return err
}

// observerToken fetches (again after a clock move may expire it) the
// observer's access token.
func (s *sandbox) observerToken(ctx context.Context, fresh bool) (string, error) {
	if s.token != "" && !fresh {
		return s.token, nil
	}
	tok, err := s.c.OAuth().ClientCredentials(ctx, s.observer, "cases:read")
	if err != nil {
		return "", fmt.Errorf("observer token: %w", err)
	}
	s.token = tok.AccessToken
	return s.token, nil
}

// checkCase makes sure a case exists, through the public GraphQL API: a
// scenario counting the notes of a case the sandbox does not have cannot
// be set up.
func (s *sandbox) checkCase(ctx context.Context, caseID string) error {
	req := client.GraphQLRequest{Query: `query($id: ID!) { case(id: $id) { id } }`,
		Variables: map[string]any{"id": caseID}}
	var data struct {
		Case *struct{ ID string } `json:"case"`
	}
	var err error
	for _, fresh := range []bool{false, true} {
		var tok string
		if tok, err = s.observerToken(ctx, fresh); err != nil {
			return err
		}
		var gqlErrs client.GraphQLErrors
		if err = s.c.With(client.WithToken(tok)).GraphQL().Do(ctx, req, &data); err == nil || errors.As(err, &gqlErrs) {
			break
		}
	}
	switch {
	case err != nil:
		return err
	case data.Case == nil:
		return fmt.Errorf("case %s not found", caseID)
	}
	return nil
}

// journalSeq is the Seq of the newest request of clientID in the
// tenant's request journal (0 when it has none): the write-backs of a
// scenario are the requests above it.
//
// The watermark holds against replicas that share a journal, where each
// replica writes its entries some milliseconds after serving them: the
// database numbers an entry when it is written, from one sequence, so a
// write-back, which the consumer makes only after this read returned and
// the scenario began, is written and numbered after it, above every Seq it
// could see; none is missed, and a read of the newest entries waits out
// the replicas' write interval, so a write-back made before a read is
// listed by it. The other way, a request of the previous scenario that
// another replica had not yet written when this read ran would be
// numbered above the watermark, but the read's wait covers the interval
// in which that can happen, and a case a scenario names by placeholder is
// its own (caseID), so no other scenario's note counts for it.
func (s *sandbox) journalSeq(ctx context.Context, clientID string) (int64, error) {
	page, err := s.c.Sandbox().Requests(ctx, client.RequestFilter{Tenant: s.tenant, ClientID: clientID, Limit: 1})
	if err != nil || len(page.Requests) == 0 {
		return 0, err
	}
	return page.Requests[0].Seq, nil
}

// writeBacks are the notes a consumer wrote back as its request journal
// shows them: per case id, the successful addCaseNote calls that were not
// Idempotency-Key replays.
type writeBacks struct {
	notes map[string]int
	// truncated counts the counted calls whose journaled body was cut
	// after their case id; unread the note-adding calls cut before it,
	// which no case is credited with.
	truncated, unread int
}

// journalPage is the page size of journal reads, the most the control
// plane serves.
const journalPage = 500

// readWriteBacks reads the requests clientID made after the journal Seq
// after, newest first, and counts its successful addCaseNote calls per
// case. A time filter would not do: scenarios move the sandbox clock and
// teardown moves it back.
func (s *sandbox) readWriteBacks(ctx context.Context, clientID string, after int64) (writeBacks, error) {
	out := writeBacks{notes: map[string]int{}}
	f := client.RequestFilter{Tenant: s.tenant, ClientID: clientID, Limit: journalPage}
	for {
		page, err := s.c.Sandbox().Requests(ctx, f)
		if err != nil {
			return out, fmt.Errorf("read the request journal: %w", err)
		}
		for _, e := range page.Requests {
			if e.Seq <= after {
				return out, nil
			}
			// A replayed answer (a retry with the same Idempotency-Key)
			// wrote nothing: only the call that did the write counts.
			if e.Operation != "graphql" || e.Status < 200 || e.Status > 299 || e.ErrorCode != "" || e.Replayed {
				continue
			}
			ids := noteCases(e.Body)
			switch {
			case len(ids) > 0 && e.BodyTruncated:
				out.truncated++
			case len(ids) == 0 && e.BodyTruncated && strings.Contains(e.Body, "addCaseNote"):
				// Cut before its case id: a write-back, but of which case
				// the journal cannot say.
				out.unread++
			}
			for _, id := range ids {
				out.notes[id]++
			}
		}
		if page.NextCursor == "" {
			return out, nil
		}
		f.Cursor = page.NextCursor
	}
}

// noteCases returns the case id of every addCaseNote field of the
// mutations of a journaled GraphQL request body ({"query", "variables",
// "operationName"}), its caseId given inline or as a variable. The body
// is read token by token, so one cut at the journal's bound still yields
// the members before the cut (the journal writes them in key order:
// operationName, query, variables).
func noteCases(body string) []string {
	query, opName, vars := readGraphQLBody(body)
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		return nil
	}
	var ids []string
	for _, op := range doc.Operations {
		if op.Operation != ast.Mutation || (opName != "" && op.Name != opName) {
			continue
		}
		for _, sel := range op.SelectionSet {
			f, ok := sel.(*ast.Field)
			if !ok || f.Name != "addCaseNote" {
				continue
			}
			arg := f.Arguments.ForName("caseId")
			if arg == nil || arg.Value == nil {
				continue
			}
			switch arg.Value.Kind {
			case ast.StringValue:
				ids = append(ids, arg.Value.Raw)
			case ast.Variable:
				if id, ok := vars[arg.Value.Raw]; ok {
					ids = append(ids, id)
				}
			}
		}
	}
	return ids
}

// readGraphQLBody reads the query, the operation name and the string
// variables of a GraphQL request body, as far as the body goes.
func readGraphQLBody(body string) (query, opName string, vars map[string]string) {
	vars = map[string]string{}
	d := json.NewDecoder(strings.NewReader(body))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return "", "", vars
	}
	for {
		k, err := d.Token()
		key, ok := k.(string)
		if err != nil || !ok {
			return query, opName, vars
		}
		t, err := d.Token()
		if err != nil {
			return query, opName, vars
		}
		switch v, _ := t.(string); {
		case key == "query":
			query = v
		case key == "operationName":
			opName = v
		case key == "variables" && t == json.Delim('{'):
			for {
				k, err := d.Token()
				name, ok := k.(string)
				if err != nil || !ok {
					return query, opName, vars
				}
				t, err := d.Token()
				if err != nil {
					return query, opName, vars
				}
				if s, ok := t.(string); ok {
					vars[name] = s
				} else if skipValue(d, t) != nil {
					return query, opName, vars
				}
			}
		default:
			if skipValue(d, t) != nil {
				return query, opName, vars
			}
		}
	}
}

// skipValue skips the rest of a value whose first token is t.
func skipValue(d *json.Decoder, t json.Token) error {
	if t != json.Delim('{') && t != json.Delim('[') {
		return nil
	}
	for depth := 1; depth > 0; {
		t, err := d.Token()
		if err != nil {
			return err
		}
		switch t {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
	}
	return nil
}
