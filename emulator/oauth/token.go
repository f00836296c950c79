// The token endpoint, RFC 6749 §3.2: it reads the request, authenticates
// the client (§2.3), hands the request to its grant (flow_*.go) and writes
// the response of §5.1 or the error of §5.2.

package oauth

import (
	"net/http"
	"slices"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Grant types of the token endpoint (RFC 6749 §4.1.3, §4.4.2, §6).
const (
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
)

// tokenResponse is the successful answer of RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// IDToken is issued when openid was granted (OpenID Connect Core
	// §3.1.3.3, §12.2).
	IDToken string `json:"id_token,omitempty"`
}

// grantHandler answers a token request of one grant type for a client
// that is authenticated and approved for it.
type grantHandler func(s *Service, r *http.Request, c Client, f form) (tokenResponse, issued, *Error)

// grantFor returns the handler of a grant type, or nil for one the
// endpoint does not support.
func grantFor(grant string) grantHandler {
	switch grant {
	case GrantClientCredentials:
		return (*Service).clientCredentials
	case GrantAuthorizationCode:
		return (*Service).exchangeCode
	case GrantRefreshToken:
		return (*Service).refresh
	}
	return nil
}

// handleToken is POST /v1/oauth/token (RFC 6749 §3.2).
func (s *Service) handleToken(w http.ResponseWriter, r *http.Request) {
	s.prune()
	f, e := readForm(r)
	if e != nil {
		writeError(w, e)
		return
	}
	// The grant type is checked before the client so that a password or
	// implicit attempt learns it is unsupported whatever its credentials.
	grant := f.get("grant_type")
	handle := grantFor(grant)
	switch {
	case grant == "":
		writeError(w, newError(CodeInvalidRequest, "grant_type is required"))
		return
	case handle == nil:
		writeError(w, newError(CodeUnsupportedGrantType, "grant_type %q is not supported; use client_credentials, authorization_code or refresh_token", grant))
		return
	}
	client, e := s.authenticateClient(r.Context(), r, f, true)
	if e != nil {
		writeError(w, e)
		return
	}
	if !slices.Contains(client.GrantTypes, grant) {
		writeError(w, newError(CodeUnauthorizedClient, "the app is not approved for the %s grant", grant))
		return
	}
	resp, is, e := handle(s, r, client, f)
	if e != nil {
		if e.Status >= 500 {
			core.Logger(r.Context(), s.log).Error("oauth: token", "err", e.Description)
		}
		writeError(w, e)
		return
	}
	resp.AccessToken, resp.TokenType = is.token, "Bearer"
	// Under a token_expiry fault too, expires_in tells the lifetime the
	// token has (see expiresIn).
	resp.ExpiresIn = is.expiresIn
	if is.fault != "" {
		w.Header().Set(FaultHeader, is.fault)
	}
	noStore(w.Header())
	core.WriteJSON(w, http.StatusOK, resp)
}
