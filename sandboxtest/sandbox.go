// Package sandboxtest starts an Argus sandbox for Go tests in the test
// process on an httptest server (New, RunInProcess). The container form
// lives in its own module, github.com/knogin/argus-sandbox/sandboxtest/container,
// so a module that imports only this package pulls in no Docker client; it
// returns the same *Sandbox, so one test body runs either way:
//
//	sb := sandboxtest.New(t)   // or container.Run(ctx, container.DefaultImage).Sandbox()
//	app, _ := sb.RegisterApp(ctx, "acme", "webhooks:write")
//	// sb.BaseURL(), sb.Token(ctx, app, ...), sb.Subscribe(...), sb.WaitIdle(ctx), ...
//
// The helpers drive the sandbox's control plane (/_sandbox/...) over HTTP
// with the operator token through package client, exactly as a test in
// another language would; Client gives the whole typed API.
package sandboxtest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/fixtures"
)

// Sandbox is a running sandbox. Its methods are safe for concurrent use.
type Sandbox struct {
	baseURL       string
	operatorToken string
	fixtures      *fixtures.Set
	client        *http.Client
	// api is the typed client, with the operator token.
	api *client.Client
	// callbackHost is the host the sandbox reaches this process at (for
	// webhook receivers): 127.0.0.1 in process, the container network's
	// gateway for a container.
	callbackHost string

	terminateOnce sync.Once
	terminateErr  error
	terminate     func(ctx context.Context) error
}

// BaseURL is the sandbox's base URL, e.g. http://127.0.0.1:41234. It is
// also the token issuer, so discovery documents and token claims match it.
func (s *Sandbox) BaseURL() string { return s.baseURL }

// AdminToken returns the fixture administrator token of a tenant
// ("sandbox_admin_acme" for "acme"), or "" for a tenant the fixtures lack.
func (s *Sandbox) AdminToken(tenant string) string {
	t, ok := s.fixtures.Tenant(tenant)
	if !ok {
		return ""
	}
	return t.AdminToken
}

// Fixtures are the fixtures the sandbox was started with (the embedded
// ones unless WithFixtures replaced them).
func (s *Sandbox) Fixtures() *fixtures.Set { return s.fixtures }

// OperatorToken is the bearer the control plane (/_sandbox/...) requires.
func (s *Sandbox) OperatorToken() string { return s.operatorToken }

// HTTPClient is a client with a sensible timeout for talking to the sandbox.
func (s *Sandbox) HTTPClient() *http.Client { return s.client }

// Client is the sandbox's typed API client (package client), with the
// operator token for the control plane; derive one for a tenant with
// With(client.WithToken(sb.AdminToken("acme"))) or an access token.
func (s *Sandbox) Client() *client.Client { return s.api }

// ConformanceTarget is what the conformance runner needs to drive a
// sandbox: its base URL and the operator token for the control plane
// (event triggers, clock, faults).
type ConformanceTarget struct {
	BaseURL       string
	OperatorToken string
}

// Conformance returns the target for the conformance runner
// (cmd/conformance --sandbox URL --operator-token TOKEN, or its library).
func (s *Sandbox) Conformance() ConformanceTarget {
	return ConformanceTarget{BaseURL: s.baseURL, OperatorToken: s.operatorToken}
}

// StartReceiver starts an HTTP server for h that the sandbox can deliver
// webhooks to: on 127.0.0.1 for an in-process sandbox, on the container
// network's gateway address (a private address the sandbox accepts as a
// local target) for a container. The caller closes it.
func (s *Sandbox) StartReceiver(h http.Handler) (*httptest.Server, error) {
	ln, err := listen(s.callbackHost)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	return srv, nil
}

// Terminate stops the sandbox and releases its resources (the container,
// or the in-process server and its background work). Calling it again
// returns the first result.
func (s *Sandbox) Terminate(ctx context.Context) error {
	s.terminateOnce.Do(func() { s.terminateErr = s.terminate(ctx) })
	return s.terminateErr
}

// newSandbox describes a started sandbox; the caller sets how it is
// terminated. Its HTTP client's timeout leaves room for a WaitIdle poll.
func newSandbox(baseURL, operatorToken, callbackHost string, fx *fixtures.Set) *Sandbox {
	hc := &http.Client{Timeout: 2 * client.IdlePoll}
	return &Sandbox{baseURL: baseURL, operatorToken: operatorToken, fixtures: fx, client: hc, callbackHost: callbackHost,
		api: client.New(baseURL, client.WithOperatorToken(operatorToken), client.WithHTTPClient(hc))}
}

// Remote describes a sandbox this process did not start in itself: a
// container (package sandboxtest/container builds one), or one run by
// docker compose or another harness.
type Remote struct {
	// BaseURL is the URL the sandbox answers at and its token issuer.
	BaseURL string
	// OperatorToken is the control plane's bearer.
	OperatorToken string
	// CallbackHost is the address the sandbox reaches this process at, where
	// StartReceiver listens (127.0.0.1 when empty).
	CallbackHost string
	// Fixtures are the sandbox's fixtures (the embedded ones when nil), for
	// AdminToken.
	Fixtures *fixtures.Set
	// Terminate stops the sandbox (nothing when nil); Sandbox.Terminate
	// calls it once.
	Terminate func(ctx context.Context) error
}

// Connect returns the helpers for a sandbox described by r. It does not
// contact the sandbox; call Health to check it answers.
func Connect(r Remote) *Sandbox {
	host, fx := r.CallbackHost, r.Fixtures
	if host == "" {
		host = "127.0.0.1"
	}
	if fx == nil {
		fx = fixtures.MustDefault()
	}
	s := newSandbox(r.BaseURL, r.OperatorToken, host, fx)
	s.terminate = func(ctx context.Context) error {
		s.api.HTTPClient().CloseIdleConnections()
		if r.Terminate == nil {
			return nil
		}
		return r.Terminate(ctx)
	}
	return s
}
