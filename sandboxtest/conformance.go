package sandboxtest

import (
	"context"

	"github.com/knogin/argus-sandbox/conformance"
)

// RunConformance runs the webhook conformance suite (package conformance)
// through this sandbox instead of an embedded one: cfg.Sandbox is set to
// it, with its operator token and the admin token of cfg.Tenant from its
// fixtures, and an empty cfg.CallbackHost becomes the address the sandbox
// reaches this process at, so a consumer the runner starts (Exec,
// InProcess) receives the deliveries of a container too.
//
//	sb := sandboxtest.New(t)
//	rep, err := sb.RunConformance(ctx, conformance.Config{Consumer: &conformance.Exec{Command: "./my-consumer", ...}})
func (s *Sandbox) RunConformance(ctx context.Context, cfg conformance.Config) (*conformance.Report, error) {
	return conformance.Run(ctx, s.conformanceConfig(cfg))
}

// conformanceConfig points cfg at this sandbox.
func (s *Sandbox) conformanceConfig(cfg conformance.Config) conformance.Config {
	tenant := cfg.Tenant
	if tenant == "" {
		tenant = "acme"
	}
	cfg.Sandbox = &conformance.RemoteSandbox{URL: s.baseURL, OperatorToken: s.operatorToken, AdminToken: s.AdminToken(tenant)}
	if cfg.CallbackHost == "" {
		cfg.CallbackHost = s.callbackHost
	}
	return cfg
}
