package control

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/tenants"
)

// operator is the principal of every accepted control-plane request.
var operator = core.Principal{Kind: core.KindOperator, Subject: "operator"}

// Authenticator checks the operatorToken scheme. With a configured token
// the bearer must equal it (compared in constant time, so timing does not
// leak it); without one (loopback only, enforced by New) any bearer is the
// operator.
//
// A tenant's control token (Config.Tenants) is accepted too: its principal
// is an operator of that tenant alone (Principal.Tenant set), which the
// handlers hold to that tenant.
func (s *Service) Authenticator() core.Authenticator {
	want := []byte(s.cfg.OperatorToken)
	return core.AuthenticatorFunc(func(ctx context.Context, token string) (*core.Principal, error) {
		if s.open || subtle.ConstantTimeCompare([]byte(token), want) == 1 {
			if t, ok := s.controlTenant(ctx, token); ok {
				return controlPrincipal(t), nil
			}
			p := operator
			return &p, nil
		}
		if t, ok := s.controlTenant(ctx, token); ok {
			return controlPrincipal(t), nil
		}
		return nil, core.ErrInvalidToken
	})
}

func (s *Service) controlTenant(ctx context.Context, token string) (string, bool) {
	if s.cfg.Tenants == nil {
		return "", false
	}
	t, kind, ok := s.cfg.Tenants.ByToken(ctx, token)
	return t.ID, ok && kind == tenants.KindControl
}

func controlPrincipal(tenant string) *core.Principal {
	return &core.Principal{Kind: core.KindOperator, Tenant: tenant, Subject: "control@" + tenant}
}

// operator guards a control-plane handler. The spec lets requests without
// a bearer through (the token is optional on an open loopback sandbox), so
// a request without a principal is refused here unless the sandbox is
// open. A wrong bearer never gets this far: the router answers 401.
func (s *Service) operator(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.open && core.PrincipalFrom(r.Context()) == nil {
			p := core.NewProblem(http.StatusUnauthorized, "unauthorized", "Unauthorized",
				"the control plane requires the operator token as a bearer token")
			p.Header = http.Header{"WWW-Authenticate": {`Bearer realm="argus-sandbox"`}}
			core.WriteProblem(w, r, p)
			return
		}
		h(w, r)
	})
}
