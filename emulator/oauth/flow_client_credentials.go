// The client credentials grant, RFC 6749 §4.4.

package oauth

import (
	"net/http"
	"net/url"
	"strings"
)

// clientCredentials is the client credentials grant (RFC 6749 §4.4.2). It
// never issues a refresh token (§4.4.3).
func (s *Service) clientCredentials(r *http.Request, c Client, f form) (tokenResponse, issued, *Error) {
	scopes, e := resolveScopes(f, s.grantable(c))
	if e != nil {
		return fail(e)
	}
	res, e := s.resolveResources(url.Values(f)["resource"], nil)
	if e != nil {
		return fail(e)
	}
	is, err := s.mintAccess(r.Context(), accessRequest{
		tenant: c.Tenant, clientID: c.ClientID, grantType: GrantClientCredentials,
		scopes: scopes, audience: s.audience(scopes, res),
	})
	if err != nil {
		return fail(errServer(err))
	}
	return tokenResponse{Scope: strings.Join(scopes, " ")}, is, nil
}
