package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// SigningAlgs are the JWS algorithms (RFC 7518 §3.1, RFC 8037) the sandbox
// can sign with. Symmetric algorithms are deliberately absent: the verifier
// must never accept an HS* token (RFC 8725 §3.1).
var SigningAlgs = []string{"ES256", "RS256", "EdDSA"}

func supportedAlg(alg string) bool { return slices.Contains(SigningAlgs, alg) }

// signingKey is one key pair of the JWKS.
type signingKey struct {
	kid  string
	alg  jwa.SignatureAlgorithm
	priv crypto.Signer
	pub  jwk.Key
	// header is the encoded protected header of its tokens (RFC 7515
	// §7.1): alg, kid and typ at+jwt (RFC 9068 §2.1).
	header string
	// lastExp is the latest exp (Unix seconds) of a token signed with the
	// key: a retired key stays published until then.
	lastExp atomic.Int64
	// gen numbers the keys in the order they became current, from 1.
	gen uint64
}

// keyring holds the current signing key and the retired ones that still
// verify live tokens.
type keyring struct {
	alg   jwa.SignatureAlgorithm
	clock core.Clock

	mu      sync.RWMutex
	lastGen uint64 // gen of the newest key ever made
	current *signingKey
	retired []*signingKey
	set     jwk.Set // public keys of current and retired, for verification
	doc     []byte  // the JWKS document
	// staleDoc is served instead of doc until staleUntil (fault injection).
	staleDoc   []byte
	staleUntil time.Time
	// verified remembers tokens whose signature checked out with one of
	// these keys.
	verified verifiedTokens
}

func newKeyring(alg string, clock core.Clock) (*keyring, error) {
	k := &keyring{alg: jwa.SignatureAlgorithm(alg), clock: clock}
	if err := k.reset(); err != nil {
		return nil, err
	}
	return k, nil
}

func generateKey(alg jwa.SignatureAlgorithm) (*signingKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case jwa.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jwa.RS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jwa.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		err = fmt.Errorf("unsupported signing algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("oauth: generate %s key: %w", alg, err)
	}
	pub, err := jwk.FromRaw(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("oauth: public JWK: %w", err)
	}
	// The kid is the RFC 7638 thumbprint: distinct keys get distinct kids.
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("oauth: JWK thumbprint: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(tp)
	for k, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: alg, jwk.KeyUsageKey: "sig"} {
		if err := pub.Set(k, v); err != nil {
			return nil, fmt.Errorf("oauth: JWK %s: %w", k, err)
		}
	}
	// The protected header never changes for a key: encode it once.
	hdr, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}{string(alg), kid, "at+jwt"})
	if err != nil {
		return nil, fmt.Errorf("oauth: JOSE header: %w", err)
	}
	return &signingKey{kid: kid, alg: alg, priv: priv, pub: pub, header: base64.RawURLEncoding.EncodeToString(hdr)}, nil
}

// reset drops every key and starts over with a fresh one.
func (k *keyring) reset() error {
	key, err := generateKey(k.alg)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lastGen++
	key.gen = k.lastGen
	k.current, k.retired = key, nil
	k.staleDoc, k.staleUntil = nil, time.Time{}
	k.verified.clear()
	return k.rebuildLocked()
}

// rotate makes a fresh key current; the old one is retired and stays in
// the JWKS until every token it signed has expired. With stale > 0 the
// document served so far keeps being served for that long: frozen in the
// same step as the rotation, so no request sees the new kid early.
func (k *keyring) rotate(stale time.Duration) (string, error) {
	key, err := generateKey(k.alg)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.clock.Now()
	if stale > 0 {
		k.freezeLocked(now, stale)
	}
	k.lastGen++
	key.gen = k.lastGen
	k.retired = append(k.retired, k.current)
	k.current = key
	k.pruneLocked(now)
	return key.kid, k.rebuildLocked()
}

func (k *keyring) pruneLocked(now time.Time) bool {
	n := len(k.retired)
	k.retired = slices.DeleteFunc(k.retired, func(r *signingKey) bool {
		return time.Unix(r.lastExp.Load(), 0).Add(Leeway).Before(now)
	})
	return len(k.retired) != n
}

func (k *keyring) rebuildLocked() error {
	set := jwk.NewSet()
	for _, key := range append([]*signingKey{k.current}, k.retired...) {
		if err := set.AddKey(key.pub); err != nil {
			return fmt.Errorf("oauth: JWKS: %w", err)
		}
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("oauth: JWKS: %w", err)
	}
	k.set, k.doc = set, doc
	return nil
}

// refresh drops retired keys whose tokens have all expired.
func (k *keyring) refresh() {
	now := k.clock.Now()
	k.mu.RLock()
	due := false
	for _, r := range k.retired {
		if time.Unix(r.lastExp.Load(), 0).Add(Leeway).Before(now) {
			due = true
		}
	}
	k.mu.RUnlock()
	if !due {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pruneLocked(now) {
		_ = k.rebuildLocked() // the keys were valid when first added
	}
}

// generations returns the generation of the oldest key a token may still
// be signed with and that of the current key: a token signed by an older
// key than oldest can never verify again, whatever the clock does.
func (k *keyring) generations() (oldest, current uint64) {
	k.refresh()
	k.mu.RLock()
	defer k.mu.RUnlock()
	oldest = k.current.gen
	for _, r := range k.retired {
		oldest = min(oldest, r.gen)
	}
	return oldest, k.current.gen
}

// verificationSet returns the public keys tokens may be signed with.
func (k *keyring) verificationSet() jwk.Set {
	k.refresh()
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.set
}

// document returns the JWKS served at /.well-known/jwks.json.
func (k *keyring) document() []byte {
	k.refresh()
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.staleDoc != nil && k.clock.Now().Before(k.staleUntil) {
		return k.staleDoc
	}
	return k.doc
}

// freeze keeps serving the document served now for d from now; d <= 0
// ends a freeze. Inside a freeze the served document stays the frozen
// one, so freezing again never publishes a key rotated in meanwhile.
func (k *keyring) freeze(d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.freezeLocked(k.clock.Now(), d)
}

func (k *keyring) freezeLocked(now time.Time, d time.Duration) {
	if d <= 0 {
		k.staleDoc, k.staleUntil = nil, time.Time{}
		return
	}
	if k.staleDoc == nil || !now.Before(k.staleUntil) {
		k.staleDoc = k.doc
	}
	k.staleUntil = now.Add(d)
}

// sign signs payload as a JWS compact serialisation with the current key,
// typed per RFC 9068 §2.1, and records exp for the key's retirement.
func (k *keyring) sign(payload []byte, exp time.Time) (string, error) {
	k.mu.RLock()
	key := k.current
	k.mu.RUnlock()
	for {
		last := key.lastExp.Load()
		if exp.Unix() <= last || key.lastExp.CompareAndSwap(last, exp.Unix()) {
			break
		}
	}
	return key.signCompact(payload)
}

// RotateKeys makes a fresh signing key current and returns its kid. The
// previous key stays in the JWKS until every token it signed has expired.
// With staleJWKS > 0 the JWKS keeps showing the key set of before the
// rotation for that long, as a lagging cache in front of the real
// platform would: tokens of the new key are then signed by a kid no
// integrator can find yet. Verification always uses the real keys.
func (s *Service) RotateKeys(ctx context.Context, staleJWKS time.Duration) (newKID string, err error) {
	kid, err := s.keys.rotate(staleJWKS)
	if err != nil {
		return "", err
	}
	core.Logger(ctx, s.log).Info("oauth: signing key rotated", "kid", kid, "stale_jwks", staleJWKS)
	return kid, nil
}

// StaleJWKS keeps serving the JWKS document served now for d, even across
// rotations, as a stale cache in front of the real platform would; d <= 0
// ends it. Verification always uses the real keys.
func (s *Service) StaleJWKS(d time.Duration) { s.keys.freeze(d) }

// scheduleRotation rotates on the injected clock, so advancing the
// virtual clock rotates at once.
func (s *Service) scheduleRotation() {
	s.clock.AfterFunc(s.cfg.KeyRotation, func() {
		if _, err := s.RotateKeys(context.Background(), 0); err != nil {
			s.log.Error("oauth: scheduled key rotation", "err", err)
		}
		s.scheduleRotation()
	})
}

// currentKID names the key new tokens are signed with.
func (k *keyring) currentKID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current.kid
}
