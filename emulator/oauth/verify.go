package oauth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// accessToken is a verified access token.
type accessToken struct {
	JTI      string
	Subject  string
	ClientID string
	Tenant   string
	Scopes   []string
	Audience []string
	IssuedAt time.Time
	Expires  time.Time
	AuthTime time.Time
}

// joseHeader is the part of the JOSE header checked before the signature.
type joseHeader struct {
	Alg  string          `json:"alg"`
	Typ  string          `json:"typ"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", core.ErrInvalidToken, fmt.Sprintf(format, args...))
}

// parseAccess verifies an access token as RFC 9068 §4 and RFC 8725 ask:
// the JWS algorithm must be ours (never none or HS*), typ must be at+jwt
// (an ID token is refused), the kid must be in our JWKS, the signature must
// verify with that key, and iss, exp, nbf and iat are checked with a small
// leeway. audience, when not empty, must be in aud. jku, x5u and jwk
// headers are never used to find a key.
func (s *Service) parseAccess(raw, audience string) (accessToken, error) {
	return s.verifyAccess(raw, s.validateOptions(audience))
}

// validateOptions are the claim checks of parseAccess for audience: built
// once per Verifier, since they never change.
func (s *Service) validateOptions(audience string) []jwt.ValidateOption {
	opts := []jwt.ValidateOption{
		jwt.WithIssuer(s.issuer),
		jwt.WithAcceptableSkew(Leeway),
	}
	for _, c := range []string{"exp", "iat", "jti", "sub", "client_id", "tenant"} {
		opts = append(opts, jwt.WithRequiredClaim(c))
	}
	if audience != "" {
		opts = append(opts, jwt.WithAudience(audience))
	}
	return opts
}

// verifyAccess is parseAccess with its claim checks. A token whose
// signature verified before (see verifiedTokens) skips the header checks,
// which depend on its bytes only, and the signature; the kid must still be
// published and the claims are validated again.
func (s *Service) verifyAccess(raw string, opts []jwt.ValidateOption) (accessToken, error) {
	v, ok := s.keys.verified.get(raw)
	if !ok {
		parts := strings.Split(raw, ".")
		if len(parts) != 3 {
			return accessToken{}, invalid("not a JWS compact serialisation")
		}
		hb, err := base64.RawURLEncoding.DecodeString(parts[0])
		if err != nil {
			return accessToken{}, invalid("malformed JOSE header")
		}
		var h joseHeader
		if err := json.Unmarshal(hb, &h); err != nil {
			return accessToken{}, invalid("malformed JOSE header")
		}
		switch {
		case h.Alg != string(s.keys.alg):
			return accessToken{}, invalid("algorithm %q is not accepted", h.Alg)
		case !strings.EqualFold(h.Typ, "at+jwt") && !strings.EqualFold(h.Typ, "application/at+jwt"):
			return accessToken{}, invalid("typ %q is not at+jwt", h.Typ)
		case len(h.Crit) > 0:
			return accessToken{}, invalid("critical header parameters are not understood")
		case h.Kid == "":
			return accessToken{}, invalid("the token has no kid")
		}
		set := s.keys.verificationSet()
		if _, ok := set.LookupKeyID(h.Kid); !ok {
			return accessToken{}, invalid("kid %q is not in the JWKS", h.Kid)
		}
		// WithKeySet matches both kid and alg against our keys. The claims
		// are validated below, on every request, cached or not.
		tok, err := jwt.ParseString(raw, jwt.WithKeySet(set, jws.WithRequireKid(true)), jwt.WithValidate(false))
		if err != nil {
			return accessToken{}, invalid("%v", err)
		}
		v = &verifiedToken{tok: tok, kid: h.Kid}
		v.claims, v.claimsErr = tokenClaims(tok)
		s.keys.verified.put(raw, v)
	} else if _, ok := s.keys.verificationSet().LookupKeyID(v.kid); !ok {
		return accessToken{}, invalid("kid %q is not in the JWKS", v.kid)
	}
	// exp, nbf and iat are checked on the clock of the token's tenant
	// (the claims are those of a verified signature, or of a cached one).
	clock := s.clock
	if v.claimsErr == nil {
		clock = s.clockOf(v.claims.Tenant)
	}
	opts = append(slices.Clip(opts), jwt.WithClock(jwt.ClockFunc(clock.Now)))
	if err := jwt.Validate(v.tok, opts...); err != nil {
		return accessToken{}, invalid("%v", err)
	}
	if v.claimsErr != nil {
		return accessToken{}, v.claimsErr
	}
	return v.claims, nil
}

// tokenClaims reads the claims the verifier uses. Its slices are shared by
// every presentation of the token and must not be modified.
func tokenClaims(tok jwt.Token) (accessToken, error) {
	at := accessToken{JTI: tok.JwtID(), Subject: tok.Subject(), Audience: slices.Clip(tok.Audience()),
		IssuedAt: tok.IssuedAt(), Expires: tok.Expiration()}
	var ok1, ok2 bool
	at.ClientID, ok1 = claimString(tok, "client_id")
	at.Tenant, ok2 = claimString(tok, "tenant")
	if !ok1 || !ok2 || at.ClientID == "" || at.Tenant == "" {
		return accessToken{}, invalid("client_id and tenant must be strings")
	}
	if sc, _ := claimString(tok, "scope"); sc != "" {
		at.Scopes = slices.Clip(strings.Split(sc, " "))
	}
	if v, ok := tok.Get("auth_time"); ok {
		if f, ok := v.(float64); ok {
			at.AuthTime = time.Unix(int64(f), 0)
		}
	}
	return at, nil
}

func claimString(tok jwt.Token, name string) (string, bool) {
	v, ok := tok.Get(name)
	if !ok {
		return "", false
	}
	str, ok := v.(string)
	return str, ok
}

// active checks what a signature cannot: revocation, and that the app
// still exists in the tenant the token names. It returns the scopes the
// token still grants: those the app still holds, since removing a scope
// from an app takes it from the tokens already issued as it does from
// refreshes and code exchanges.
func (s *Service) active(ctx context.Context, at accessToken) ([]string, error) {
	c, err := s.activeClient(ctx, at)
	if err != nil {
		return nil, err
	}
	return stillGranted(at.Scopes, c.Scopes), nil
}

// activeClient checks the token is not revoked and returns its app, which
// must still exist in the tenant the token names.
func (s *Service) activeClient(ctx context.Context, at accessToken) (Client, error) {
	// A user's token belongs to a grant and is recorded when issued
	// (mintAccess): without its record it fails closed.
	recorded := at.Subject != at.ClientID
	var ok bool
	var c Client
	var err error
	if tc, both := s.clients.(TokenClients); both {
		ok, c, err = tc.TokenClient(ctx, at.JTI, recorded, at.ClientID)
	} else if ok, err = s.store.AccessActive(ctx, at.JTI, recorded); err == nil && ok {
		c, err = s.clients.LookupClient(ctx, at.ClientID)
	}
	if err != nil && !errors.Is(err, ErrUnknownClient) {
		return Client{}, err
	}
	if !ok {
		return Client{}, invalid("the token was revoked")
	}
	if err != nil {
		return Client{}, invalid("the token's app no longer exists")
	}
	if c.Tenant != at.Tenant {
		return Client{}, invalid("the token's tenant is not its app's tenant")
	}
	return c, nil
}

// stillGranted returns the scopes of granted the app still holds. It
// returns granted itself, shared and unmodified, when none was lost, the
// case of nearly every request.
func stillGranted(granted, held []string) []string {
	for i, sc := range granted {
		if slices.Contains(held, sc) {
			continue
		}
		out := slices.Clone(granted[:i])
		for _, sc := range granted[i+1:] {
			if slices.Contains(held, sc) {
				out = append(out, sc)
			}
		}
		return out
	}
	return granted
}

// Verifier returns the bearer-token authenticator of the resource server
// at resource: a path such as ResourceWebhooks ("/v1/webhooks") or the
// full resource identifier. Every resource server of the sandbox uses it
// for the accessToken security scheme; scopes are enforced by the router
// from the operation's security requirements.
func (s *Service) Verifier(resource string) core.Authenticator {
	aud := resource
	if strings.HasPrefix(resource, "/") {
		aud = s.resourceID(resource)
	}
	opts := s.validateOptions(aud)
	return core.AuthenticatorFunc(func(ctx context.Context, token string) (*core.Principal, error) {
		at, err := s.verifyAccess(token, opts)
		if err != nil {
			return nil, err
		}
		scopes, err := s.active(ctx, at)
		if err != nil {
			return nil, err
		}
		p := &core.Principal{Kind: core.KindApp, Tenant: at.Tenant, Subject: at.Subject, ClientID: at.ClientID,
			Scopes: scopes, TokenID: at.JTI, Expires: at.Expires}
		// RFC 9068 §2.2: sub is the client for a client's own token and
		// the resource owner for a delegated one.
		if at.Subject != at.ClientID {
			p.Kind, p.UserID = core.KindUser, at.Subject
		}
		return p, nil
	})
}
