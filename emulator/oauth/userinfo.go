// The UserInfo endpoint, OpenID Connect Core §5.3, with the bearer-token
// errors of RFC 6750 §3.

package oauth

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Bearer-token error codes of RFC 6750 §3.1.
const (
	CodeInvalidToken      = "invalid_token"
	CodeInsufficientScope = "insufficient_scope"
)

// bearerError is the RFC 6750 §3 answer of the UserInfo endpoint: the
// challenge carries the error (none when no token was sent, §3.1), and the
// body repeats it in the RFC 6749 shape every error of this surface has.
func bearerError(status int, code, desc string) *Error {
	challenge := `Bearer realm="argus"`
	if code != "" {
		challenge += `, error="` + code + `", error_description="` + strings.ReplaceAll(desc, `"`, `'`) + `"`
		if code == CodeInsufficientScope {
			challenge += `, scope="` + ScopeOpenID + `"`
		}
	} else {
		code = CodeInvalidToken
	}
	return &Error{Status: status, Code: code, Description: desc, Header: http.Header{"Www-Authenticate": {challenge}}}
}

// handleUserInfo is GET and POST /v1/oauth/userinfo (Core §5.3.1): the
// claims of the signed-in user that the access token's scopes release,
// with sub equal to the ID token's. The token must be a user's, carry
// openid, and be sent in the Authorization header (RFC 6750 §2.1).
func (s *Service) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !strings.EqualFold(scheme, "bearer") || token == "" {
		writeError(w, bearerError(http.StatusUnauthorized, "", "an access token is required in the Authorization header (Bearer)"))
		return
	}
	at, err := s.verifyAccess(token, s.userinfoOpts)
	var c Client
	if err == nil {
		c, err = s.activeClient(r.Context(), at)
	}
	switch {
	case errors.Is(err, core.ErrInvalidToken):
		writeError(w, bearerError(http.StatusUnauthorized, CodeInvalidToken, err.Error()))
		return
	case err != nil:
		writeError(w, errServer(err))
		return
	}
	scopes := stillGranted(at.Scopes, s.userGrantable(c))
	if at.Subject == at.ClientID || !slices.Contains(scopes, ScopeOpenID) {
		writeError(w, bearerError(http.StatusForbidden, CodeInsufficientScope, "the access token must be a user's, granted the openid scope"))
		return
	}
	u, ok := s.tenantUser(at.Tenant, at.Subject)
	if !ok {
		writeError(w, bearerError(http.StatusUnauthorized, CodeInvalidToken, errNoUser.Error()))
		return
	}
	claims := userClaims(u, scopes)
	claims["sub"] = u.ID
	noStore(w.Header())
	core.WriteJSON(w, http.StatusOK, claims)
}
