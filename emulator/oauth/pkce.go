// Proof Key for Code Exchange, RFC 7636 §4.

package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// challengeMethodS256 is the only code_challenge_method accepted: "plain"
// offers no protection against an intercepted authorization request
// (RFC 9700 §2.1.1).
const challengeMethodS256 = "S256"

// validVerifier checks RFC 7636 §4.1: 43 to 128 characters of
// [A-Za-z0-9-._~]. A code_challenge has the same alphabet and an S256
// challenge is exactly 43 characters.
func validVerifier(v string) bool {
	return len(v) >= 43 && len(v) <= 128 && unreserved(v)
}

// validChallenge checks an S256 code_challenge: 43 base64url characters.
func validChallenge(c string) bool { return len(c) == 43 && unreserved(c) }

// unreserved reports whether v has only the unreserved characters of
// RFC 3986 §2.3, the alphabet of verifiers and challenges.
func unreserved(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// s256Challenge is BASE64URL(SHA256(ASCII(verifier))) (RFC 7636 §4.2).
func s256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// verifierMatches compares in constant time (RFC 7636 §4.6).
func verifierMatches(verifier, challenge string) bool {
	return subtle.ConstantTimeCompare([]byte(s256Challenge(verifier)), []byte(challenge)) == 1
}
