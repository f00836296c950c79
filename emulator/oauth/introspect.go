// Token introspection, RFC 7662 §2.

package oauth

import (
	"errors"
	"net/http"
	"strings"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// introspection is the RFC 7662 §2.2 response.
type introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Nbf       int64  `json:"nbf,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Aud       any    `json:"aud,omitempty"`
	Iss       string `json:"iss,omitempty"`
	JTI       string `json:"jti,omitempty"`
	Tenant    string `json:"tenant,omitempty"`
}

// handleIntrospect is POST /v1/oauth/introspect (RFC 7662). The caller
// must authenticate as a client (§2.1) and only learns about its own
// tokens: revoked, expired, unknown and other clients' tokens all answer
// {"active": false} (§2.2, §4). The scope is what the token still grants:
// scopes since removed from the app are left out, and a token left with
// none of its scopes is inactive.
func (s *Service) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	_, c, token, ok := s.tokenRequest(w, r)
	if !ok {
		return
	}
	out, err := s.introspect(r, c, token)
	if err != nil {
		core.Logger(r.Context(), s.log).Error("oauth: introspect", "err", err)
		writeError(w, errServer(err))
		return
	}
	noStore(w.Header())
	core.WriteJSON(w, http.StatusOK, out)
}

func (s *Service) introspect(r *http.Request, c Client, token string) (introspection, error) {
	ctx := r.Context()
	if strings.Count(token, ".") == 2 {
		at, err := s.parseAccess(token, "")
		if err != nil || at.ClientID != c.ClientID {
			return introspection{}, nil
		}
		scopes, err := s.active(ctx, at)
		if errors.Is(err, core.ErrInvalidToken) || err == nil && len(scopes) == 0 && len(at.Scopes) > 0 {
			return introspection{}, nil
		} else if err != nil {
			return introspection{}, err
		}
		return introspection{Active: true, Scope: strings.Join(scopes, " "), ClientID: at.ClientID, TokenType: "Bearer",
			Exp: at.Expires.Unix(), Iat: at.IssuedAt.Unix(), Nbf: at.IssuedAt.Unix(), Sub: at.Subject, Aud: at.Audience,
			Iss: s.issuer, JTI: at.JTI, Tenant: at.Tenant}, nil
	}
	rt, err := s.store.GetRefresh(ctx, hashSecret(token))
	if errors.Is(err, ErrNotFound) {
		return introspection{}, nil
	} else if err != nil {
		return introspection{}, err
	}
	g, err := s.store.GetGrant(ctx, rt.GrantID)
	if errors.Is(err, ErrNotFound) {
		return introspection{}, nil
	} else if err != nil {
		return introspection{}, err
	}
	now := s.clockOf(c.Tenant).Now()
	if rt.ClientID != c.ClientID || rt.Used || rt.Revoked || g.Revoked || !now.Before(rt.Expires) {
		return introspection{}, nil
	}
	// c is the token's own client (checked above): what a refresh would
	// grant now.
	scopes := stillGranted(g.Scopes, s.grantable(c))
	if len(scopes) == 0 && len(g.Scopes) > 0 {
		return introspection{}, nil
	}
	sub := g.UserID
	if sub == "" {
		sub = g.ClientID
	}
	return introspection{Active: true, Scope: strings.Join(scopes, " "), ClientID: rt.ClientID, TokenType: "refresh_token",
		Exp: rt.Expires.Unix(), Iat: rt.IssuedAt.Unix(), Sub: sub, Iss: s.issuer, Tenant: g.Tenant}, nil
}
