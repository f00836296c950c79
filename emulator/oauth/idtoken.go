// ID tokens of OpenID Connect Core 1.0 (§2, §3.1.3.3, §3.1.3.6, §12.2)
// and the user claims the OpenID scopes release (§5.1, §5.4).

package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"

	"github.com/knogin/argus-sandbox/fixtures"
)

// IDTokenSigningAlg signs every ID token, whatever algorithm access tokens
// use: OpenID Connect Discovery 1.0 §3 requires RS256 among
// id_token_signing_alg_values_supported, and OpenID client libraries
// refuse metadata without it.
const IDTokenSigningAlg = "RS256"

// OpenID Connect scopes (Core §3.1.2.1, §5.4). They are not platform API
// scopes: every app approved for the authorization_code grant may ask for
// them, whatever its approved scopes, because they release only the
// signed-in user's own identity, never tenant data.
const (
	ScopeOpenID  = "openid"
	ScopeProfile = "profile"
	ScopeEmail   = "email"
)

// OIDCScopes are the OpenID Connect scopes the authorization code flow
// understands.
var OIDCScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail}

// standardClaims are the claims of ID tokens and userinfo besides a
// user's custom ones (discovery's claims_supported).
var standardClaims = []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
	"name", "locale", "email", "email_verified"}

// userGrantable lists the scopes a user may grant the client: its
// grantable platform scopes and, when it is approved for the
// authorization_code grant, the OpenID scopes. Only an explicit scope
// parameter asks for the latter (resolveScopes): an omitted scope still
// means the platform scopes only, since an OpenID request must say openid.
func (s *Service) userGrantable(c Client) []string {
	out := s.grantable(c)
	if slices.Contains(c.GrantTypes, GrantAuthorizationCode) {
		out = append(out, OIDCScopes...)
	}
	return out
}

// userClaims returns the claims of u that scopes release (Core §5.4):
// profile gives name, locale and the user's custom claims, email gives
// email and email_verified (the tenant vouches for its users' addresses).
func userClaims(u *fixtures.User, scopes []string) map[string]any {
	m := make(map[string]any, 8+len(u.Claims))
	if slices.Contains(scopes, ScopeProfile) {
		for k, v := range u.Claims {
			m[k] = v
		}
		m["name"] = u.Name
		if u.Locale != "" {
			m["locale"] = u.Locale
		}
	}
	if slices.Contains(scopes, ScopeEmail) {
		m["email"], m["email_verified"] = u.Email, true
	}
	return m
}

// errNoUser refuses an ID token or userinfo for a user the fixtures no
// longer have (a --fixtures directory edited between runs).
var errNoUser = errors.New("the grant's user is not a user of its tenant")

// mintIDToken signs the ID token of a user's grant for client (Core
// §3.1.3.3): aud is the client, auth_time the original sign-in (also on a
// refresh, §12.2), nonce the authorization request's (none on a refresh),
// and at_hash binds the access token issued with it (§3.1.3.6).
func (s *Service) mintIDToken(g Grant, clientID string, scopes []string, accessToken, nonce string) (string, error) {
	u, ok := s.tenantUser(g.Tenant, g.UserID)
	if !ok {
		return "", errNoUser
	}
	now := s.clockOf(g.Tenant).Now()
	exp := now.Add(AccessTokenTTL)
	c := userClaims(u, scopes)
	c["iss"], c["sub"], c["aud"] = s.issuer, u.ID, clientID
	c["exp"], c["iat"], c["auth_time"] = exp.Unix(), now.Unix(), g.AuthTime.Unix()
	c["at_hash"] = atHash(accessToken)
	if nonce != "" {
		c["nonce"] = nonce
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	return s.keys.signID(payload, exp)
}

// atHash is Core §3.1.3.6: the base64url left half of the hash of the
// access token's ASCII octets, with the hash of the ID token's alg (SHA-256
// for RS256).
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
