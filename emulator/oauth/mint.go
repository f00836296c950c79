package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// TokenFaults is the fault injector's seam into token issuance.
type TokenFaults interface {
	// AccessTokenLifetime returns the lifetime to give an access token
	// about to be issued and the name of the fault rule that changed it
	// ("" when none did). A lifetime at or below zero issues a token that
	// is already expired.
	AccessTokenLifetime(ctx context.Context, t FaultTarget) (ttl time.Duration, rule string)
}

// FaultTarget describes the token TokenFaults is asked about.
type FaultTarget struct {
	Tenant    string
	ClientID  string
	GrantType string
	TTL       time.Duration
}

// FaultHeader names the fault rule that distorted an issued token.
const FaultHeader = core.FaultHeader

// accessClaims is the RFC 9068 §2.2 claim set, plus the tenant.
type accessClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience []string `json:"aud"`
	Expires  int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	NotBef   int64    `json:"nbf"`
	JTI      string   `json:"jti"`
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
	Tenant   string   `json:"tenant"`
	AuthTime int64    `json:"auth_time,omitempty"`
}

// appendJSON appends the claim set to b exactly as json.Marshal encodes
// it (TestAccessClaimsJSON), without reflection: it is encoded for every
// token issued.
func (c *accessClaims) appendJSON(b []byte) []byte {
	b = append(b, `{"iss":`...)
	b = core.AppendJSONString(b, c.Issuer)
	b = append(b, `,"sub":`...)
	b = core.AppendJSONString(b, c.Subject)
	b = append(b, `,"aud":`...)
	if c.Audience == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, a := range c.Audience {
			if i > 0 {
				b = append(b, ',')
			}
			b = core.AppendJSONString(b, a)
		}
		b = append(b, ']')
	}
	b = append(b, `,"exp":`...)
	b = strconv.AppendInt(b, c.Expires, 10)
	b = append(b, `,"iat":`...)
	b = strconv.AppendInt(b, c.IssuedAt, 10)
	b = append(b, `,"nbf":`...)
	b = strconv.AppendInt(b, c.NotBef, 10)
	b = append(b, `,"jti":`...)
	b = core.AppendJSONString(b, c.JTI)
	b = append(b, `,"client_id":`...)
	b = core.AppendJSONString(b, c.ClientID)
	b = append(b, `,"scope":`...)
	b = core.AppendJSONString(b, c.Scope)
	b = append(b, `,"tenant":`...)
	b = core.AppendJSONString(b, c.Tenant)
	if c.AuthTime != 0 {
		b = append(b, `,"auth_time":`...)
		b = strconv.AppendInt(b, c.AuthTime, 10)
	}
	return append(b, '}')
}

// accessRequest is what an access token is minted from.
type accessRequest struct {
	tenant, clientID, userID string
	grantType, grantID       string
	scopes, audience         []string
	authTime                 time.Time
	ttl                      time.Duration
}

// issued is a minted access token.
type issued struct {
	token   string
	jti     string
	expires time.Time
	ttl     time.Duration
	fault   string
	// expiresIn is the expires_in of the token response (RFC 6749 §5.1).
	expiresIn int64
}

// expiresIn is the lifetime a token response announces: the whole seconds
// from now to exp, as exp itself counts them, so that a client computing
// its expiry from expires_in agrees with the token's exp. A token a fault
// issued already expired says 1: the protocol has no way to say "already
// expired" (RFC 6749 §5.1 speaks of a lifetime), and 0 is worse than a
// small lie, since golang.org/x/oauth2 and other clients read it as "never
// expires" and would keep the token for good; with 1 they renew it at
// once, and the resource servers refuse it by its exp.
func expiresIn(now, exp time.Time) int64 {
	return max(exp.Unix()-now.Unix(), 1)
}

// mintAccess signs an access token and, when it belongs to a grant,
// records it so revoking the grant revokes it.
func (s *Service) mintAccess(ctx context.Context, req accessRequest) (issued, error) {
	now := s.clockOf(req.tenant).Now()
	ttl, fault := req.ttl, ""
	if ttl <= 0 {
		ttl = AccessTokenTTL
	}
	if s.cfg.Faults != nil {
		if d, rule := s.cfg.Faults.AccessTokenLifetime(ctx, FaultTarget{Tenant: req.tenant, ClientID: req.clientID, GrantType: req.grantType, TTL: ttl}); rule != "" {
			ttl, fault = d, rule
			core.Logger(ctx, s.log).Info("oauth: fault changed token lifetime", "rule", rule, "ttl", d, "client_id", req.clientID)
		}
	}
	exp := now.Add(ttl)
	c := accessClaims{
		Issuer: s.issuer, Subject: req.clientID, Audience: req.audience,
		Expires: exp.Unix(), IssuedAt: now.Unix(), NotBef: now.Unix(),
		JTI: s.ids.New("at"), ClientID: req.clientID, Scope: strings.Join(req.scopes, " "), Tenant: req.tenant,
	}
	if req.userID != "" {
		c.Subject = req.userID
		c.AuthTime = req.authTime.Unix()
	}
	if ttl <= 0 {
		// A token issued already expired must also not be valid yet by iat
		// rules; keep iat and nbf no later than exp.
		c.IssuedAt, c.NotBef = exp.Add(-time.Second).Unix(), exp.Add(-time.Second).Unix()
	}
	tok, err := s.keys.sign(c.appendJSON(make([]byte, 0, 512)), exp)
	if err != nil {
		return issued{}, err
	}
	if req.grantID != "" {
		if err := s.store.PutAccess(ctx, AccessRecord{JTI: c.JTI, GrantID: req.grantID, Expires: exp}); err != nil {
			return issued{}, err
		}
	}
	return issued{token: tok, jti: c.JTI, expires: exp, ttl: ttl, fault: fault, expiresIn: expiresIn(now, exp)}, nil
}

// audience maps granted scopes to the resource servers that accept them
// (cases:* and users:* are served over GraphQL, webhooks:* by the webhooks
// API); the platform API accepts every token. Explicit RFC 8707 resources
// win.
func (s *Service) audience(scopes, resources []string) []string {
	if len(resources) > 0 {
		return resources
	}
	aud := []string{s.resourceID(ResourcePlatform)}
	add := func(path string) {
		if id := s.resourceID(path); !slices.Contains(aud, id) {
			aud = append(aud, id)
		}
	}
	for _, sc := range scopes {
		switch prefix, _, _ := strings.Cut(sc, ":"); prefix {
		case "webhooks":
			add(ResourceWebhooks)
		case "cases", "users", "graphql":
			add(ResourceGraphQL)
		}
	}
	return aud
}

// hashSecret is how codes and refresh tokens are stored: a leak of the
// store does not leak usable credentials.
func hashSecret(v string) string {
	sum := sha256.Sum256([]byte(v))
	return hex.EncodeToString(sum[:])
}

// ServiceTokenRequest asks for a service token of an app (the platform
// API's headless credentials).
type ServiceTokenRequest struct {
	Tenant   string
	AppID    string
	ClientID string
	Scopes   []string
	// TTL is the token's lifetime; zero means AccessTokenTTL.
	TTL time.Duration
}

// MintServiceToken issues an access token for an app acting for itself,
// exactly like one from the client credentials grant. Scopes must exist
// in the catalog; the caller has checked the app may hold them.
func (s *Service) MintServiceToken(ctx context.Context, req ServiceTokenRequest) (token, tokenID string, expires time.Time, err error) {
	if req.Tenant == "" || req.ClientID == "" {
		return "", "", time.Time{}, fmt.Errorf("oauth: service token: tenant and client ID are required")
	}
	for _, sc := range req.Scopes {
		if _, ok := s.cfg.Fixtures.Scope(sc); !ok {
			return "", "", time.Time{}, fmt.Errorf("oauth: service token: unknown scope %q", sc)
		}
	}
	scopes := slices.Clone(req.Scopes)
	is, err := s.mintAccess(ctx, accessRequest{
		tenant: req.Tenant, clientID: req.ClientID, grantType: "service_token",
		scopes: scopes, audience: s.audience(scopes, nil), ttl: req.TTL,
	})
	if err != nil {
		return "", "", time.Time{}, err
	}
	return is.token, is.jti, is.expires, nil
}

// RevokeTokenID revokes the access token with this jti; the verifier
// refuses it from then on, whatever the clock does afterwards. Unknown IDs
// are not an error (RFC 7009 §2.2).
func (s *Service) RevokeTokenID(ctx context.Context, tokenID string) error {
	// Without the token its expiry is unknown: as far as it matters (see
	// Store.Prune), take the longest a token the service issues could
	// live, from the later of sandbox and real time.
	now := s.clock.Now()
	if wall := s.cfg.WallClock(); wall.After(now) {
		now = wall
	}
	_, gen := s.keys.generations()
	return s.store.PutAccess(ctx, AccessRecord{JTI: tokenID, Revoked: true, Expires: now.Add(RefreshTokenTTL), KeyGen: gen})
}
