// Package sandboxtest starts an Argus sandbox for Go tests, either as a
// container through testcontainers-go (Run) or in the test process on an
// httptest server (RunInProcess). Both return the same *Sandbox, so one test
// body runs either way:
//
//	sb, err := sandboxtest.RunInProcess(ctx)   // or sandboxtest.Run(ctx)
//	if err != nil { t.Fatal(err) }
//	defer sb.Terminate(context.Background())
//	// sb.BaseURL(), sb.AdminToken("acme"), sb.AdvanceClock(ctx, time.Hour), ...
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

	"github.com/testcontainers/testcontainers-go"

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

	// container is nil for an in-process sandbox.
	container *testcontainers.DockerContainer

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

// Container is the sandbox's container (for its logs, state or exec), or
// nil for an in-process sandbox.
func (s *Sandbox) Container() *testcontainers.DockerContainer { return s.container }

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
