package sandboxtest

import (
	"context"
	"fmt"
	"testing"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/conformance"
)

// New starts an in-process sandbox for t and terminates it when t and its
// subtests end; a start failure fails t.
func New(t testing.TB, opts ...Option) *Sandbox {
	t.Helper()
	sb, err := RunInProcess(context.Background(), opts...)
	if err != nil {
		t.Fatalf("sandboxtest: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Terminate(context.Background()); err != nil {
			t.Errorf("sandboxtest: terminate: %v", err)
		}
	})
	return sb
}

// RegisterApp registers a client-credentials app in tenant as the
// tenant's fixture administrator, requesting scopes, and returns it with
// its client secret (app.Credentials() for Token).
func (s *Sandbox) RegisterApp(ctx context.Context, tenant string, scopes ...string) (client.AppWithSecret, error) {
	admin := s.AdminToken(tenant)
	if admin == "" {
		return client.AppWithSecret{}, fmt.Errorf("sandboxtest: the fixtures have no tenant %q", tenant)
	}
	return s.api.With(client.WithToken(admin)).Platform().CreateApp(ctx, client.AppCreate{
		Name:            "sandboxtest app",
		GrantTypes:      []string{"client_credentials"},
		RequestedScopes: scopes,
	})
}

// Token mints an access token for app through the client-credentials
// grant (RFC 6749 §4.4), for scopes (all the app's when none).
func (s *Sandbox) Token(ctx context.Context, app client.AppWithSecret, scopes ...string) (string, error) {
	tok, err := s.api.OAuth().ClientCredentials(ctx, app.Credentials(), scopes...)
	return tok.AccessToken, err
}

// Subscribe subscribes receiver (a URL the sandbox can reach, e.g. a
// StartReceiver server's) to events of tenant, signing deliveries with
// secret (the whsec_ form, see client.WebhookSecretKey), so a consumer that
// already holds its secret verifies them.
func (s *Sandbox) Subscribe(ctx context.Context, tenant, receiver, secret string, events ...string) (client.SandboxWebhook, error) {
	return s.api.Sandbox().CreateWebhook(ctx, client.SandboxWebhookRequest{
		Tenant: tenant, URL: receiver, Events: events, Secret: secret,
	})
}

// WaitIdle blocks until delivery work has settled: nothing queued or in
// flight and no retry already due on the sandbox clock. Retries scheduled
// later do not count: AdvanceClock, then WaitIdle again.
func (s *Sandbox) WaitIdle(ctx context.Context) error { return s.api.Sandbox().WaitIdle(ctx) }

// RunT runs the webhook conformance suite like RunConformance, with
// conformance.RunT: each scenario is a subtest of t named after it,
// reported as it ends (a failed one fails with its text report: what was
// sent, what came back, each check; an unverified one is skipped with the
// reason). A run that cannot start fails t.
func (s *Sandbox) RunT(t *testing.T, cfg conformance.Config) *conformance.Report {
	t.Helper()
	return conformance.RunT(t, s.conformanceConfig(cfg))
}

// ErrorFault answers requests that match with status (429, 500, 502, 503
// or 504) instead of serving them, e.g.
// ErrorFault("token-down", client.FaultMatch{Operation: "token"}, 503).
func ErrorFault(name string, match client.FaultMatch, status int) FaultRule {
	return FaultRule{Name: name, Match: match, Action: client.FaultAction{Error: &client.FaultErrorReply{Status: status}}}
}

// LatencyFault delays requests that match by d.
func LatencyFault(name string, match client.FaultMatch, d client.Duration) FaultRule {
	return FaultRule{Name: name, Match: match, Action: client.FaultAction{Latency: &client.FaultLatency{Fixed: d}}}
}

// DuplicateFault delivers matching events copies times.
func DuplicateFault(name string, match client.FaultMatch, copies int) FaultRule {
	return FaultRule{Name: name, Match: match, Action: client.FaultAction{Duplicate: &client.FaultDuplicate{Copies: copies}}}
}

// ResponseLostFault delivers matching events but treats the consumer's
// answer as lost, so the sandbox retries what was processed.
func ResponseLostFault(name string, match client.FaultMatch) FaultRule {
	return FaultRule{Name: name, Match: match, Action: client.FaultAction{ResponseLost: &client.FaultNoOptions{}}}
}

// BadSignatureFault signs matching deliveries wrongly, so a consumer must
// refuse them.
func BadSignatureFault(name string, match client.FaultMatch) FaultRule {
	return FaultRule{Name: name, Match: match, Action: client.FaultAction{BadSignature: &client.FaultNoOptions{}}}
}
