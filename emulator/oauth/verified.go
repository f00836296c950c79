package oauth

import (
	"sync"

	"github.com/lestrrat-go/jwx/v2/jwt"
)

// maxVerified bounds the tokens whose signature check is remembered: a few
// hundred bytes of token and a parsed claim set each, so at most about
// 2 MB.
const maxVerified = 1024

// verifiedTokens remembers access tokens whose JWS signature verified, so
// a token presented again skips the signature check and the claims parse,
// the bulk of verifying it. Only the signature outcome is remembered:
// it is a pure function of the exact token bytes and the key, and the kid
// is an RFC 7638 thumbprint, so the same kid still being in the JWKS means
// the same key. Everything that depends on time or state (header checks,
// kid presence, exp/nbf/iat, issuer, audience, revocation, the app) is
// checked on every request.
type verifiedTokens struct {
	mu     sync.RWMutex
	tokens map[string]*verifiedToken
}

// verifiedToken is what is remembered of a token whose signature verified:
// the parsed token, the kid its header names (the header passed every
// check, which depend on its bytes only), and the claims the verifier
// reads, or why they are unusable.
type verifiedToken struct {
	tok       jwt.Token
	kid       string
	claims    accessToken
	claimsErr error
}

func (v *verifiedTokens) get(raw string) (*verifiedToken, bool) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	t, ok := v.tokens[raw]
	return t, ok
}

// put remembers a token; when full it drops an arbitrary entry (Go's map
// iteration order), which keeps memory bounded without bookkeeping.
func (v *verifiedTokens) put(raw string, t *verifiedToken) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tokens == nil {
		v.tokens = make(map[string]*verifiedToken, maxVerified)
	}
	if len(v.tokens) >= maxVerified {
		for k := range v.tokens {
			delete(v.tokens, k)
			break
		}
	}
	v.tokens[raw] = t
}

// clear forgets every token (the keys were replaced).
func (v *verifiedTokens) clear() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.tokens = nil
}
