package consumer

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
	"sync"
)

// ArgusClient calls back into Argus with a client_credentials token
// (RFC 6749 §4.4), fetched once and fetched again when Argus answers 401.
type ArgusClient struct {
	BaseURL      string
	ClientID     string
	ClientSecret string
	HTTP         *http.Client

	mu    sync.Mutex
	token string
}

// errUnauthorized makes the caller fetch a new token once.
var errUnauthorized = errors.New("access token refused")

// AddCaseNote writes a note on a case with the addCaseNote mutation. key
// is sent as Idempotency-Key: derived from the event that caused the
// write, it makes the write safe to repeat when a delivery comes again
// after a lost answer (Argus answers the first note, it adds no second).
func (a *ArgusClient) AddCaseNote(ctx context.Context, caseID, body, key string) error {
	const mutation = `mutation($id: ID!, $body: String!) { addCaseNote(caseId: $id, body: $body) { id } }`
	vars := map[string]any{"id": caseID, "body": body}
	err := a.graphql(ctx, mutation, vars, key)
	if errors.Is(err, errUnauthorized) {
		a.mu.Lock()
		a.token = ""
		a.mu.Unlock()
		err = a.graphql(ctx, mutation, vars, key)
	}
	return err
}

func (a *ArgusClient) graphql(ctx context.Context, query string, vars map[string]any, key string) error {
	tok, err := a.accessToken(ctx)
	if err != nil {
		return err
	}
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.BaseURL+"/v1/graphql", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := a.client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return errUnauthorized
	case resp.StatusCode != http.StatusOK:
		return &StatusError{Code: resp.StatusCode, RetryAfter: resp.Header.Get("Retry-After")}
	}
	var out struct {
		Errors []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("graphql: %w", err)
	}
	if len(out.Errors) > 0 {
		return fmt.Errorf("graphql: %s", out.Errors[0].Message)
	}
	return nil
}

// StatusError is an answer of Argus other than 200. Every one of them is
// temporary for a delivery: a 429 (rate limited, with Retry-After) as much
// as a 503. The delivery answers 503 and Argus delivers it again later.
type StatusError struct {
	Code       int
	RetryAfter string
}

func (e *StatusError) Error() string {
	if e.RetryAfter != "" {
		return fmt.Sprintf("graphql: status %d (Retry-After: %s)", e.Code, e.RetryAfter)
	}
	return fmt.Sprintf("graphql: status %d", e.Code)
}

func (a *ArgusClient) accessToken(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token != "" {
		return a.token, nil
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"cases:read cases:write"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.BaseURL+"/v1/oauth/token", strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(a.ClientID), url.QueryEscape(a.ClientSecret)) // RFC 6749 §2.3.1
	resp, err := a.client().Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil {
		return "", fmt.Errorf("token: status %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || tr.AccessToken == "" {
		return "", fmt.Errorf("token: status %d: %s", resp.StatusCode, tr.Error)
	}
	a.token = tr.AccessToken
	return a.token, nil
}

func (a *ArgusClient) client() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return http.DefaultClient
}
