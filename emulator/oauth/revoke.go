// Token revocation, RFC 7009 §2.

package oauth

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// handleRevoke is POST /v1/oauth/revoke (RFC 7009). It answers 200 for
// unknown tokens and for other clients' tokens, which it leaves alone
// (§2.1: the server must check the token was issued to the caller);
// revoking a refresh token revokes its whole grant, access tokens included.
func (s *Service) handleRevoke(w http.ResponseWriter, r *http.Request) {
	f, c, token, ok := s.tokenRequest(w, r)
	if !ok {
		return
	}
	// token_type_hint only orders the lookups (§2.1); unknown hints are
	// ignored rather than refused.
	lookups := []func(context.Context, Client, string) error{s.revokeRefresh, s.revokeAccess}
	if f.get("token_type_hint") == "access_token" || strings.Count(token, ".") == 2 {
		lookups[0], lookups[1] = lookups[1], lookups[0]
	}
	for _, revoke := range lookups {
		err := revoke(r.Context(), c, token)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrNotFound) {
			core.Logger(r.Context(), s.log).Error("oauth: revoke", "err", err)
			writeError(w, errServer(err))
			return
		}
	}
	noStore(w.Header())
	w.WriteHeader(http.StatusOK)
}

// revokeRefresh revokes the grant of a refresh token of client c.
func (s *Service) revokeRefresh(ctx context.Context, c Client, token string) error {
	hash := hashSecret(token)
	rt, err := s.store.GetRefresh(ctx, hash)
	if err != nil {
		return err
	}
	if rt.ClientID != c.ClientID {
		return nil // another client's token: answered 200, not revoked
	}
	if _, err := s.store.UpdateRefresh(ctx, hash, func(t *RefreshToken) error {
		t.Revoked = true
		return nil
	}); err != nil {
		return err
	}
	s.revokeGrant(ctx, rt.GrantID)
	return nil
}

// revokeAccess revokes one access token of client c by its jti.
func (s *Service) revokeAccess(ctx context.Context, c Client, token string) error {
	at, err := s.parseAccess(token, "")
	if err != nil {
		return ErrNotFound
	}
	if at.ClientID != c.ClientID {
		return nil
	}
	_, gen := s.keys.generations()
	return s.store.PutAccess(ctx, AccessRecord{JTI: at.JTI, Revoked: true, Expires: at.Expires, KeyGen: gen})
}

// tokenRequest reads the shared prologue of revocation and introspection
// (RFC 7009 §2.1, RFC 7662 §2.1): the form, the authenticated client and
// the token. On failure it has written the error.
func (s *Service) tokenRequest(w http.ResponseWriter, r *http.Request) (form, Client, string, bool) {
	f, e := readForm(r)
	if e != nil {
		writeError(w, e)
		return nil, Client{}, "", false
	}
	c, e := s.authenticateClient(r.Context(), r, f, false)
	if e != nil {
		writeError(w, e)
		return nil, Client{}, "", false
	}
	token := f.get("token")
	if token == "" {
		writeError(w, newError(CodeInvalidRequest, "token is required"))
		return nil, Client{}, "", false
	}
	return f, c, token, true
}
