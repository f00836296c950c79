package oauth

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

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
	switch grant {
	case "":
		writeError(w, newError(CodeInvalidRequest, "grant_type is required"))
		return
	case GrantClientCredentials, GrantAuthorizationCode, GrantRefreshToken:
	default:
		writeError(w, newError(CodeUnsupportedGrantType, "grant_type %q is not supported; use client_credentials, authorization_code or refresh_token", grant))
		return
	}
	client, e := s.authenticateClient(r.Context(), r, f)
	if e != nil {
		writeError(w, e)
		return
	}
	if !slices.Contains(client.GrantTypes, grant) {
		writeError(w, newError(CodeUnauthorizedClient, "the app is not approved for the %s grant", grant))
		return
	}
	var resp tokenResponse
	var is issued
	switch grant {
	case GrantClientCredentials:
		resp, is, e = s.clientCredentials(r, client, f)
	case GrantAuthorizationCode:
		resp, is, e = s.exchangeCode(r, client, f)
	case GrantRefreshToken:
		resp, is, e = s.refresh(r, client, f)
	}
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

// grantable lists the scopes the client may be granted: approved for it
// (pending ones never are) and present in the scope catalog.
func (s *Service) grantable(c Client) []string {
	out := make([]string, 0, len(c.Scopes))
	for _, sc := range c.Scopes {
		if _, ok := s.cfg.Fixtures.Scope(sc); ok && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// resolveScopes applies RFC 6749 §3.3: an omitted scope means every
// allowed scope; a requested one must be a subset of allowed.
func resolveScopes(f form, allowed []string) ([]string, *Error) {
	if !f.has("scope") {
		return slices.Clone(allowed), nil
	}
	raw := f.get("scope")
	var out []string
	for _, sc := range strings.Split(raw, " ") {
		if sc == "" {
			return nil, newError(CodeInvalidScope, "scope must be a list of scope names separated by single spaces")
		}
		if !slices.Contains(allowed, sc) {
			return nil, newError(CodeInvalidScope, "scope %q is not approved for this app (or exceeds the original grant)", sc)
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

// resolveResources applies RFC 8707 §2: each resource must be an absolute
// URI naming one of the sandbox's resource servers and, when within is
// given, one of those already authorized.
func (s *Service) resolveResources(values, within []string) ([]string, *Error) {
	if len(values) == 0 {
		return nil, nil
	}
	known := s.resources[:]
	var out []string
	for _, v := range values {
		u, err := url.Parse(v)
		if err != nil || !u.IsAbs() || u.Fragment != "" {
			return nil, newError(CodeInvalidTarget, "resource %q must be an absolute URI without a fragment", v)
		}
		if !slices.Contains(known, v) {
			return nil, newError(CodeInvalidTarget, "resource %q is not a resource server of this sandbox; use one of %s", v, strings.Join(known, ", "))
		}
		if within != nil && !slices.Contains(within, v) {
			return nil, newError(CodeInvalidTarget, "resource %q was not part of the authorization", v)
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// clientCredentials is the client credentials grant (RFC 6749 §4.4). It
// never issues a refresh token (§4.4.3).
func (s *Service) clientCredentials(r *http.Request, c Client, f form) (tokenResponse, issued, *Error) {
	scopes, e := resolveScopes(f, s.grantable(c))
	if e != nil {
		return tokenResponse{}, issued{}, e
	}
	res, e := s.resolveResources(url.Values(f)["resource"], nil)
	if e != nil {
		return tokenResponse{}, issued{}, e
	}
	is, err := s.mintAccess(r.Context(), accessRequest{
		tenant: c.Tenant, clientID: c.ClientID, grantType: GrantClientCredentials,
		scopes: scopes, audience: s.audience(scopes, res),
	})
	if err != nil {
		return tokenResponse{}, issued{}, errServer(err)
	}
	return tokenResponse{Scope: strings.Join(scopes, " ")}, is, nil
}
