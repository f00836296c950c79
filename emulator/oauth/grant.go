// Helpers shared by the grants of the token endpoint: the scope a client
// may be granted (RFC 6749 §3.3), resource indicators (RFC 8707 §2), and
// the grant record behind authorization code and refresh tokens, whose
// tokens are issued and revoked together (RFC 6749 §4.1.2, §10.4;
// RFC 9700 §4.14.2).

package oauth

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"
)

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

// narrowResources applies RFC 8707 §2 to a token request made under an
// earlier authorization of scopes and resources: the request's resource
// parameters may only name resources that authorization named or, when it
// named none, that its scopes reach. Without any, the token keeps the
// authorization's resources.
func (s *Service) narrowResources(f form, scopes, resources []string) ([]string, *Error) {
	vs := url.Values(f)["resource"]
	if len(vs) == 0 {
		return resources, nil
	}
	within := resources
	if within == nil {
		within = s.audience(scopes, nil)
	}
	return s.resolveResources(vs, within)
}

// issueForGrant mints the access token of a grant and, when the client
// may use refresh tokens, a new refresh token of the same family.
func (s *Service) issueForGrant(ctx context.Context, c Client, g Grant, grantType string, scopes, resources []string, create bool) (tokenResponse, issued, *Error) {
	now := s.clockOf(g.Tenant).Now()
	var refresh string
	if slices.Contains(c.GrantTypes, GrantRefreshToken) {
		refresh = s.ids.Token("rt", 32)
		if exp := now.Add(RefreshTokenTTL); exp.After(g.Expires) {
			g.Expires = exp
		}
	}
	if create {
		if err := s.store.CreateGrant(ctx, g); err != nil {
			return fail(errServer(err))
		}
	} else if _, err := s.store.UpdateGrant(ctx, g.ID, func(cur *Grant) error {
		cur.Expires = maxTime(cur.Expires, g.Expires)
		return nil
	}); err != nil {
		return fail(errServer(err))
	}
	is, err := s.mintAccess(ctx, accessRequest{
		tenant: g.Tenant, clientID: c.ClientID, userID: g.UserID, grantType: grantType, grantID: g.ID,
		scopes: scopes, audience: s.audience(scopes, resources), authTime: g.AuthTime,
	})
	if err != nil {
		return fail(errServer(err))
	}
	// A fault may give the token a longer life than the grant: the grant
	// must outlive it, or the token would fail closed for want of it.
	if is.expires.After(g.Expires) {
		if _, err := s.store.UpdateGrant(ctx, g.ID, func(cur *Grant) error {
			cur.Expires = maxTime(cur.Expires, is.expires)
			return nil
		}); err != nil {
			return fail(errServer(err))
		}
	}
	if refresh != "" {
		if err := s.store.CreateRefresh(ctx, RefreshToken{Hash: hashSecret(refresh), GrantID: g.ID, ClientID: c.ClientID,
			IssuedAt: now, Expires: now.Add(RefreshTokenTTL)}); err != nil {
			return fail(errServer(err))
		}
	}
	return tokenResponse{Scope: strings.Join(scopes, " "), RefreshToken: refresh}, is, nil
}

// revokeGrant revokes a token family; a failure is logged, not returned,
// because the request that triggered it is refused either way.
func (s *Service) revokeGrant(ctx context.Context, id string) {
	if id == "" {
		return
	}
	_, err := s.store.UpdateGrant(ctx, id, func(g *Grant) error {
		g.Revoked = true
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		s.log.ErrorContext(ctx, "oauth: revoke grant", "grant", id, "err", err)
	}
}

// fail is the result of a grant that refuses the request.
func fail(e *Error) (tokenResponse, issued, *Error) { return tokenResponse{}, issued{}, e }

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
