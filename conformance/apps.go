package conformance

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// noteCount counts the notes of a case through the public GraphQL API.
func (s *sandbox) noteCount(ctx context.Context, caseID string) (int, error) {
	req := client.GraphQLRequest{Query: `query($id: ID!) { case(id: $id) { notes(first: 100) { nodes { id } } } }`,
		Variables: map[string]any{"id": caseID}}
	var data struct {
		Case *struct {
			Notes struct {
				Nodes []struct{ ID string } `json:"nodes"`
			} `json:"notes"`
		} `json:"case"`
	}
	var err error
	for _, fresh := range []bool{false, true} {
		var tok string
		if tok, err = s.observerToken(ctx, fresh); err != nil {
			return 0, err
		}
		var gqlErrs client.GraphQLErrors
		if err = s.c.With(client.WithToken(tok)).GraphQL().Do(ctx, req, &data); err == nil || errors.As(err, &gqlErrs) {
			break
		}
	}
	switch {
	case err != nil:
		return 0, err
	case data.Case == nil:
		return 0, fmt.Errorf("case %s not found", caseID)
	}
	return len(data.Case.Notes.Nodes), nil
}
