// The authorization code grant at the token endpoint, RFC 6749 §4.1.3:
// the code is redeemed once (§4.1.2, a replay revokes what it issued),
// checked against the PKCE verifier (RFC 7636 §4.5, §4.6) and exchanged
// for an access token and, for clients allowed them, a refresh token. The
// authorization endpoint that issues codes is authorize.go.

package oauth

import (
	"errors"
	"net/http"
	"slices"
)

// codeError carries a refusal out of the UpdateCode closure.
type codeError struct {
	e       *Error
	replay  bool
	grantID string
}

func (c *codeError) Error() string { return c.e.Error() }

// exchangeCode is the authorization code grant (RFC 6749 §4.1.3) with the
// PKCE check of RFC 7636 §4.6 and the replay rule of RFC 6749 §4.1.2: a
// code redeemed twice is refused and the tokens issued from it revoked.
func (s *Service) exchangeCode(r *http.Request, c Client, f form) (tokenResponse, issued, *Error) {
	ctx := r.Context()
	code, redirect, verifier := f.get("code"), f.get("redirect_uri"), f.get("code_verifier")
	switch {
	case code == "":
		return fail(newError(CodeInvalidRequest, "code is required"))
	case !f.has("redirect_uri"):
		return fail(newError(CodeInvalidRequest, "redirect_uri is required: it must repeat the redirect_uri of the authorization request (RFC 6749 §4.1.3)"))
	case f.has("code_verifier") && !validVerifier(verifier):
		return fail(newError(CodeInvalidRequest, "code_verifier must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)"))
	}
	now := s.clockOf(c.Tenant).Now()
	grantID := s.ids.New("grant")
	ac, err := s.store.UpdateCode(ctx, hashSecret(code), func(ac *AuthCode) error {
		var e *Error
		switch {
		case ac.ClientID != c.ClientID:
			e = newError(CodeInvalidGrant, "the authorization code was issued to another client")
		case ac.Redeemed:
			return &codeError{e: newError(CodeInvalidGrant, "the authorization code was already used; the tokens issued from it are revoked"), replay: true, grantID: ac.GrantID}
		case !now.Before(ac.Expires):
			e = newError(CodeInvalidGrant, "the authorization code expired (codes live %s)", CodeTTL)
		case redirect != ac.RedirectURI:
			e = newError(CodeInvalidGrant, "redirect_uri does not match the one of the authorization request")
		case ac.Challenge == "" && f.has("code_verifier"):
			// RFC 9700 §2.1.1: a verifier for a code without a challenge is
			// a PKCE downgrade attempt.
			e = newError(CodeInvalidGrant, "code_verifier was sent but the authorization request had no code_challenge")
		case ac.Challenge == "" && c.Public:
			// Never issued (the authorization endpoint refuses it), but
			// PKCE is what authenticates a public client's exchange.
			e = newError(CodeInvalidGrant, "a public client's code must carry a code_challenge")
		case ac.Challenge != "" && !f.has("code_verifier"):
			e = newError(CodeInvalidGrant, "code_verifier is required: the authorization request carried a code_challenge")
		case ac.Challenge != "" && !verifierMatches(verifier, ac.Challenge):
			e = newError(CodeInvalidGrant, "code_verifier does not match the code_challenge (PKCE S256)")
		}
		if e != nil {
			return &codeError{e: e}
		}
		ac.Redeemed, ac.GrantID = true, grantID
		return nil
	})
	var ce *codeError
	switch {
	case errors.Is(err, ErrNotFound):
		return fail(newError(CodeInvalidGrant, "the authorization code is unknown, expired or was issued by another server"))
	case errors.As(err, &ce):
		if ce.replay {
			s.revokeGrant(ctx, ce.grantID)
		}
		return fail(ce.e)
	case err != nil:
		return fail(errServer(err))
	}
	// The scope of the code's authorization, less any approval the app lost
	// since; RFC 6749 §4.1.3 defines no scope parameter here.
	scopes := stillGranted(ac.Scopes, s.userGrantable(c))
	res, e := s.narrowResources(f, ac.Scopes, ac.Resources)
	if e != nil {
		return fail(e)
	}
	g := Grant{ID: grantID, Tenant: ac.Tenant, ClientID: c.ClientID, UserID: ac.UserID,
		Scopes: ac.Scopes, Resources: ac.Resources, AuthTime: ac.AuthTime, Expires: now.Add(AccessTokenTTL)}
	resp, is, e := s.issueForGrant(ctx, c, g, GrantAuthorizationCode, scopes, res, true)
	if e == nil && slices.Contains(scopes, ScopeOpenID) {
		// OpenID Connect Core §3.1.3.3: the ID token comes with the tokens.
		var err error
		if resp.IDToken, err = s.mintIDToken(g, c.ClientID, scopes, is.token, ac.Nonce); err != nil {
			return fail(errServer(err))
		}
	}
	return resp, is, e
}
