package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/emulator"
)

// sandbox is the embedded sandbox a run delivers through, served on a
// loopback port so the consumer can call back into it.
type sandbox struct {
	sb     *emulator.Sandbox
	srv    *http.Server
	url    string
	tenant string
	admin  string
	http   *http.Client
	// observer is the runner's own app, so its reads never match fault
	// rules scoped to the consumer's app.
	observer credentials
	token    string
}

type credentials struct{ ClientID, ClientSecret string }

// startSandbox assembles an embedded sandbox on 127.0.0.1.
func startSandbox(seed int64, tenant string, log *slog.Logger) (*sandbox, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	sb, err := emulator.New(emulator.Config{Issuer: base, Loopback: true, Seed: seed, Logger: log})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	t, ok := sb.Fixtures.Tenant(tenant)
	if !ok {
		sb.Close()
		_ = ln.Close()
		return nil, fmt.Errorf("tenant %q is not a fixture tenant", tenant)
	}
	s := &sandbox{sb: sb, url: base, tenant: tenant, admin: t.AdminToken, http: &http.Client{Timeout: 30 * time.Second},
		srv: &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *sandbox) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	s.sb.Close()
}

// registerApp registers a client_credentials app of the tenant through the
// public platform API, as an integrator would.
func (s *sandbox) registerApp(ctx context.Context, name string, scopes []string) (credentials, error) {
	body, _ := json.Marshal(map[string]any{"name": name, "grant_types": []string{"client_credentials"}, "requested_scopes": scopes})
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := s.call(ctx, http.MethodPost, "/v1/platform/apps", "application/json", "Bearer "+s.admin, body, http.StatusCreated, &out); err != nil {
		return credentials{}, fmt.Errorf("register app %q: %w", name, err)
	}
	return credentials{out.ClientID, out.ClientSecret}, nil
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
func (s *sandbox) noteCount(ctx context.Context, caseID string) (int, error) {
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

// call makes one request to the sandbox and decodes a want-status answer.
func (s *sandbox) call(ctx context.Context, method, path, ctype, auth string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ctype)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
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
