// The refresh token grant, RFC 6749 §6, with rotation and reuse
// detection (RFC 9700 §4.14.2).

package oauth

import (
	"errors"
	"net/http"
	"slices"
)

// refresh is the refresh token grant (RFC 6749 §6) with rotation: every
// use returns a new refresh token, and presenting a rotated one again
// revokes the whole family (RFC 9700 §4.14.2).
func (s *Service) refresh(r *http.Request, c Client, f form) (tokenResponse, issued, *Error) {
	ctx := r.Context()
	raw := f.get("refresh_token")
	if raw == "" {
		return fail(newError(CodeInvalidRequest, "refresh_token is required"))
	}
	hash := hashSecret(raw)
	rt, err := s.store.GetRefresh(ctx, hash)
	if errors.Is(err, ErrNotFound) {
		return fail(newError(CodeInvalidGrant, "the refresh token is unknown or expired"))
	} else if err != nil {
		return fail(errServer(err))
	}
	// RFC 6749 §10.4: a refresh token is bound to its client; another
	// client learns nothing and does not burn it.
	if rt.ClientID != c.ClientID {
		return fail(newError(CodeInvalidGrant, "the refresh token is unknown or expired"))
	}
	g, err := s.store.GetGrant(ctx, rt.GrantID)
	if errors.Is(err, ErrNotFound) || (err == nil && g.Revoked) || rt.Revoked {
		return fail(newError(CodeInvalidGrant, "the refresh token was revoked"))
	} else if err != nil {
		return fail(errServer(err))
	}
	if rt.Used {
		s.revokeGrant(ctx, g.ID)
		return fail(errRefreshReused)
	}
	// Scope may only narrow (RFC 6749 §6); the new refresh token keeps the
	// grant's full scope. Checked before rotation: a refused request must
	// not burn the token.
	scopes, e := resolveScopes(f, stillGranted(g.Scopes, s.userGrantable(c)))
	if e != nil {
		return fail(e)
	}
	res, e := s.narrowResources(f, g.Scopes, g.Resources)
	if e != nil {
		return fail(e)
	}
	now := s.clockOf(c.Tenant).Now()
	replay := false
	_, err = s.store.UpdateRefresh(ctx, hash, func(t *RefreshToken) error {
		switch {
		case t.Used:
			replay = true
			return errRefreshReplay
		case !now.Before(t.Expires):
			return errRefreshExpired
		}
		t.Used = true
		return nil
	})
	switch {
	case replay:
		s.revokeGrant(ctx, g.ID)
		return fail(errRefreshReused)
	case errors.Is(err, errRefreshExpired):
		return fail(newError(CodeInvalidGrant, "the refresh token expired"))
	case err != nil:
		return fail(errServer(err))
	}
	resp, is, e := s.issueForGrant(ctx, c, g, GrantRefreshToken, scopes, res, false)
	if e == nil && slices.Contains(scopes, ScopeOpenID) {
		// OpenID Connect Core §12.2: a new ID token of the same user,
		// auth_time and audience, without a nonce.
		var err error
		if resp.IDToken, err = s.mintIDToken(g, c.ClientID, scopes, is.token, ""); err != nil {
			return fail(errServer(err))
		}
	}
	return resp, is, e
}

// errRefreshReused answers a replayed refresh token.
var errRefreshReused = &Error{Status: http.StatusBadRequest, Code: CodeInvalidGrant,
	Description: "the refresh token was already used; every token of its grant is revoked"}

var (
	errRefreshReplay  = errors.New("refresh token replayed")
	errRefreshExpired = errors.New("refresh token expired")
)
