// Package client is a typed Go client of the Argus sandbox's HTTP APIs: the
// platform apps API, the OAuth 2 token endpoints, the webhooks API, GraphQL
// and the sandbox's own control plane (/_sandbox/...). It is the one
// implementation of those calls in this module: the conformance runner, the
// sandboxtest helpers and the commands drive a sandbox through it, exactly
// as an integrator's code or a test in another language does over HTTP.
//
// The wire types are plain structs whose JSON follows the OpenAPI documents
// of specs/ (and specs/faults.schema.json for fault rules); a test checks
// every type against them, so the client cannot drift from the contract.
//
//	c := client.New("http://127.0.0.1:8080", client.WithToken("sandbox_admin_acme"))
//	app, err := c.Platform().CreateApp(ctx, client.AppCreate{Name: "Case sync",
//		GrantTypes: []string{"client_credentials"}, RequestedScopes: []string{"webhooks:write"}})
//	tok, err := c.OAuth().ClientCredentials(ctx, app.Credentials(), "webhooks:write")
//	_, err = c.Sandbox().AdvanceClock(ctx, time.Hour)
//
// Every refusal is an *Error carrying the status and the sandbox's error
// model (RFC 9457 problem details, RFC 6749 errors, GraphQL errors).
//
// The package imports nothing but the standard library.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client calls one sandbox. It is safe for concurrent use; With derives a
// client with other credentials that shares the connections.
type Client struct {
	base     string
	operator string
	token    string
	http     *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithOperatorToken sets the bearer of the control plane (/_sandbox/...):
// the sandbox's --operator-token. A sandbox listening only on loopback
// without one needs none.
func WithOperatorToken(token string) Option { return func(c *Client) { c.operator = token } }

// WithToken sets the bearer of the tenant APIs (platform, webhooks,
// GraphQL): a tenant administrator's token (sandbox_admin_acme) or an
// access token from the token endpoint. The tenant comes from it.
func WithToken(token string) Option { return func(c *Client) { c.token = token } }

// WithHTTPClient sets the HTTP client requests go through. Its Timeout
// must exceed IdlePoll for WaitIdle to work.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// New returns a client of the sandbox at baseURL, such as
// http://127.0.0.1:8080. Without WithHTTPClient it uses its own client
// with a 60-second timeout and keeps up to 16 idle connections to the
// sandbox, so concurrent calls reuse them; HTTPClient().CloseIdleConnections
// releases them when the client is done.
func New(baseURL string, opts ...Option) *Client {
	c := &Client{base: strings.TrimRight(baseURL, "/")}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 16
		c.http = &http.Client{Timeout: 60 * time.Second, Transport: t}
	}
	return c
}

// With returns a copy of c with opts applied; it shares c's HTTP client.
func (c *Client) With(opts ...Option) *Client {
	d := *c
	for _, o := range opts {
		o(&d)
	}
	return &d
}

// BaseURL is the sandbox's base URL, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

// HTTPClient is the client requests go through.
func (c *Client) HTTPClient() *http.Client { return c.http }

// Sandbox is the control plane: clock, events, keys, faults, reset.
func (c *Client) Sandbox() SandboxAPI { return SandboxAPI{c} }

// Platform is the platform apps API.
func (c *Client) Platform() PlatformAPI { return PlatformAPI{c} }

// OAuth is the token service.
func (c *Client) OAuth() OAuthAPI { return OAuthAPI{c} }

// Webhooks is the webhooks API.
func (c *Client) Webhooks() WebhooksAPI { return WebhooksAPI{c} }

// GraphQL is the GraphQL endpoint.
func (c *Client) GraphQL() GraphQLAPI { return GraphQLAPI{c} }

// maxBody bounds the answers read: a page of 100 deliveries with their
// attempts stays far below it.
const maxBody = 16 << 20

// call describes one request.
type call struct {
	method string
	path   string
	query  url.Values
	// bearer is the Authorization bearer ("": none).
	bearer string
	// basic, when set, authenticates the client (RFC 6749 §2.3.1).
	basic *Credentials
	// json is sent as the JSON body; form as a form body (nil: no body).
	json any
	form url.Values
	want int
	// out receives the decoded answer; raw, when set, its bytes.
	out any
	raw *[]byte
}

// do sends a request and decodes a want-status answer into out, or the
// error body into an *Error.
func (c *Client) do(ctx context.Context, r call) error {
	var body io.Reader
	ctype := ""
	switch {
	case r.json != nil:
		data, err := json.Marshal(r.json)
		if err != nil {
			return fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
		}
		body, ctype = bytes.NewReader(data), "application/json"
	case r.form != nil:
		body, ctype = strings.NewReader(r.form.Encode()), "application/x-www-form-urlencoded"
	}
	target := c.base + r.path
	if len(r.query) > 0 {
		target += "?" + r.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	switch {
	case r.basic != nil:
		req.SetBasicAuth(url.QueryEscape(r.basic.ClientID), url.QueryEscape(r.basic.ClientSecret))
	case r.bearer != "":
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("client: %s %s: reading the answer: %w", r.method, r.path, err)
	}
	if resp.StatusCode != r.want {
		return newError(r.method, r.path, resp, data)
	}
	if r.raw != nil {
		*r.raw = data
	}
	if r.out == nil {
		return nil
	}
	if err := json.Unmarshal(data, r.out); err != nil {
		return fmt.Errorf("client: %s %s: malformed answer: %w", r.method, r.path, err)
	}
	return nil
}

// control calls the control plane with the operator token.
func (c *Client) control(ctx context.Context, method, path string, in any, want int, out any) error {
	return c.do(ctx, call{method: method, path: path, bearer: c.operator, json: in, want: want, out: out})
}

// tenant calls a tenant API with the token.
func (c *Client) tenant(ctx context.Context, method, path string, query url.Values, in any, want int, out any) error {
	return c.do(ctx, call{method: method, path: path, query: query, bearer: c.token, json: in, want: want, out: out})
}

// Page is one page of a list, oldest or newest first as the operation
// says. NextCursor, passed back as ListOptions.Cursor, gets the next page;
// it is nil on the last one.
type Page[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// ListOptions pages through a list: Limit items a page (the server's
// default when 0), from Cursor ("" for the first page).
type ListOptions struct {
	Limit  int
	Cursor string
}

func (o ListOptions) values() url.Values {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", fmt.Sprint(o.Limit))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	return q
}

// list is the {"data": [...]} wrapper of unpaged lists.
type list[T any] struct {
	Data []T `json:"data"`
}

// escape escapes one path segment.
func escape(s string) string { return url.PathEscape(s) }
