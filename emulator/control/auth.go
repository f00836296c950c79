package control

import (
	"context"
	"crypto/subtle"
	"net/http"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// operator is the principal of every accepted control-plane request.
var operator = core.Principal{Kind: core.KindOperator, Subject: "operator"}

// Authenticator checks the operatorToken scheme. With a configured token
// the bearer must equal it (compared in constant time, so timing does not
// leak it); without one (loopback only, enforced by New) any bearer is the
// operator.
func (s *Service) Authenticator() core.Authenticator {
	want := []byte(s.cfg.OperatorToken)
	return core.AuthenticatorFunc(func(_ context.Context, token string) (*core.Principal, error) {
		if !s.open && subtle.ConstantTimeCompare([]byte(token), want) != 1 {
			return nil, core.ErrInvalidToken
		}
		p := operator
		return &p, nil
	})
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
