package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// api calls the sandbox's public API (and, with an operator token, its
// control plane) over HTTP, the way an integrator's code does. Both
// engines use it for apps, tokens and the notes consumers write back.
type api struct {
	url      string
	tenant   string
	admin    string
	operator string
	http     *http.Client
	// observer is the runner's own app, so its reads never match fault
	// rules scoped to the consumer's app.
	observer credentials
	token    string
	// registered are the ids of the apps this run registered, deleted at
	// its end so a shared sandbox does not collect them.
	registered []string
}

type credentials struct{ ClientID, ClientSecret string }

func newAPI(base, tenant, admin, operator string) *api {
	return &api{url: strings.TrimRight(base, "/"), tenant: tenant, admin: admin, operator: operator,
		http: &http.Client{Timeout: 30 * time.Second}}
}

// registerApp registers a client_credentials app of the tenant through the
// public platform API, as an integrator would.
func (s *api) registerApp(ctx context.Context, name string, scopes []string) (credentials, error) {
	body, _ := json.Marshal(map[string]any{"name": name, "grant_types": []string{"client_credentials"}, "requested_scopes": scopes})
	var out struct {
		ID           string `json:"id"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := s.call(ctx, http.MethodPost, "/v1/platform/apps", "application/json", "Bearer "+s.admin, body, http.StatusCreated, &out); err != nil {
		return credentials{}, fmt.Errorf("register app %q: %w", name, err)
	}
	s.registered = append(s.registered, out.ID)
	return credentials{out.ClientID, out.ClientSecret}, nil
}

// deleteApps deletes the apps the run registered, on a fresh context: it
// runs at the end of a run that may have been cancelled.
func (s *api) deleteApps() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var errs []error
	for _, id := range s.registered {
		errs = append(errs, s.call(ctx, http.MethodDelete, "/v1/platform/apps/"+url.PathEscape(id), "", "Bearer "+s.admin, nil, http.StatusNoContent, nil))
	}
	s.registered = nil
	return errors.Join(errs...)
}

// setupObserver registers the runner's read-only app.
func (s *api) setupObserver(ctx context.Context) error {
	var err error
	s.observer, err = s.registerApp(ctx, "Conformance observer", []string{"cases:read"})
	return err
}

// observerToken fetches (again after a clock move may expire it) the
// observer's access token.
func (s *api) observerToken(ctx context.Context, fresh bool) (string, error) {
	if s.token != "" && !fresh {
		return s.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.observer.ClientID},
		"client_secret": {s.observer.ClientSecret}, "scope": {"cases:read"}}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := s.call(ctx, http.MethodPost, "/v1/oauth/token", "application/x-www-form-urlencoded", "", []byte(form.Encode()), http.StatusOK, &out); err != nil {
		return "", fmt.Errorf("observer token: %w", err)
	}
	s.token = out.AccessToken
	return s.token, nil
}

// noteCount counts the notes of a case through the public GraphQL API.
func (s *api) noteCount(ctx context.Context, caseID string) (int, error) {
	const q = `query($id: ID!) { case(id: $id) { notes(first: 100) { nodes { id } } } }`
	body, _ := json.Marshal(map[string]any{"query": q, "variables": map[string]any{"id": caseID}})
	var out struct {
		Data struct {
			Case *struct {
				Notes struct {
					Nodes []struct{ ID string } `json:"nodes"`
				} `json:"notes"`
			} `json:"case"`
		} `json:"data"`
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	var err error
	for _, fresh := range []bool{false, true} {
		var tok string
		if tok, err = s.observerToken(ctx, fresh); err != nil {
			return 0, err
		}
		if err = s.call(ctx, http.MethodPost, "/v1/graphql", "application/json", "Bearer "+tok, body, http.StatusOK, &out); err == nil {
			break
		}
	}
	switch {
	case err != nil:
		return 0, err
	case len(out.Errors) > 0:
		return 0, fmt.Errorf("graphql: %s", out.Errors[0].Message)
	case out.Data.Case == nil:
		return 0, fmt.Errorf("case %s not found", caseID)
	}
	return len(out.Data.Case.Notes.Nodes), nil
}

// call makes one request to the sandbox and decodes a want-status answer;
// a nil body sends none.
func (s *api) call(ctx context.Context, method, path, ctype, auth string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ctype)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body == nil {
		req.Header.Del("Content-Type")
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s answered %d: %s", method, path, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return errors.Join(fmt.Errorf("%s %s: malformed answer", method, path), err)
	}
	return nil
}

// callJSON sends in (nil: no body) as JSON.
func (s *api) callJSON(ctx context.Context, method, path, auth string, in any, want int, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
	}
	return s.call(ctx, method, path, "application/json", auth, body, want, out)
}
