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
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
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

// MinKeyRotation is the shortest scheduled key rotation: a shorter period
// would retire keys faster than clients refresh a cached JWKS.
const MinKeyRotation = time.Minute

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

// KeyringConfig configures a Keyring. Clock is required.
type KeyringConfig struct {
	// Clock is the sandbox clock, the one the token service reads: it
	// times rotations, retirements and stale-JWKS windows.
	Clock  core.Clock
	Logger *slog.Logger
	// SigningAlg is RS256, ES256 or EdDSA; empty means DefaultSigningAlg.
	SigningAlg string
	// Rotation rotates the signing key on this period of the clock (at
	// least a minute); 0 rotates only on demand (RotateKeys).
	Rotation time.Duration
	// Store, when set, keeps the keys across restarts: NewKeyring starts
	// from the keys it holds, and every change of the keys is saved to it.
	Store KeyStore
}

// Keyring holds the token service's signing keys: the current one and the
// retired ones that still verify live tokens. It is built on its own,
// before the token service, so that whatever acts on the keys (the control
// plane, key fault rules) can be built before the token service too: the
// fault engine needs the keys, and the token service needs the fault
// engine for token lifetimes.
type Keyring struct {
	alg   jwa.SignatureAlgorithm
	clock core.Clock
	log   *slog.Logger

	// store keeps the keys across restarts (nil: memory only).
	store KeyStore
	// saved is the snapshot last saved to or loaded from store: Reload
	// skips a snapshot that equals it. Guarded by mu.
	saved []byte

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

	// idCurrent signs ID tokens (IDTokenSigningAlg, whatever alg access
	// tokens use); idRetired still verify live ones. The key is made the
	// first time it is needed (an ID token, or the JWKS served), since an
	// RSA key takes a tenth of a second to generate and most sandboxes
	// never issue an ID token; rotations and resets replace it with the
	// access-token key. idMu serialises its making. Neither is in set:
	// the access-token verifier never accepts one of their tokens.
	idMu      sync.Mutex
	idCurrent *signingKey
	idRetired []*signingKey
}

// NewKeyring validates cfg, reporting every problem together, makes the
// first key and starts the rotation schedule when one is configured.
func NewKeyring(cfg KeyringConfig) (*Keyring, error) {
	var errs []error
	if cfg.Clock == nil {
		errs = append(errs, errors.New("oauth: keyring Clock is required"))
	}
	if cfg.SigningAlg == "" {
		cfg.SigningAlg = DefaultSigningAlg
	}
	if !supportedAlg(cfg.SigningAlg) {
		errs = append(errs, fmt.Errorf("oauth: SigningAlg %q is not one of %s", cfg.SigningAlg, strings.Join(SigningAlgs, ", ")))
	}
	if cfg.Rotation < 0 {
		errs = append(errs, fmt.Errorf("oauth: KeyRotation %s is negative", cfg.Rotation))
	} else if cfg.Rotation > 0 && cfg.Rotation < MinKeyRotation {
		errs = append(errs, fmt.Errorf("oauth: KeyRotation %s is shorter than a minute", cfg.Rotation))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	k := &Keyring{alg: jwa.SignatureAlgorithm(cfg.SigningAlg), clock: cfg.Clock, log: cfg.Logger, store: cfg.Store}
	restored, err := k.restore()
	if err != nil {
		return nil, err
	}
	if !restored {
		if err := k.reset(); err != nil {
			return nil, err
		}
	}
	if cfg.Rotation > 0 {
		k.scheduleRotation(cfg.Rotation)
	}
	return k, nil
}

// Header types of the tokens: RFC 9068 §2.1 for access tokens; ID tokens
// use JWT, as OpenID Connect Core §2 recommends no other.
const (
	typAccessToken = "at+jwt"
	typIDToken     = "JWT"
)

func generateKey(alg jwa.SignatureAlgorithm, typ string) (*signingKey, error) {
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
	return newSigningKey(priv, alg, typ)
}

// newSigningKey derives a key's public JWK, kid and protected header from
// its private key.
func newSigningKey(priv crypto.Signer, alg jwa.SignatureAlgorithm, typ string) (*signingKey, error) {
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
	}{string(alg), kid, typ})
	if err != nil {
		return nil, fmt.Errorf("oauth: JOSE header: %w", err)
	}
	return &signingKey{kid: kid, alg: alg, priv: priv, pub: pub, header: base64.RawURLEncoding.EncodeToString(hdr)}, nil
}

// reset drops every key and starts over with a fresh one; the ID-token key
// is made again when next needed.
func (k *Keyring) reset() error {
	key, err := generateKey(k.alg, typAccessToken)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lastGen++
	key.gen = k.lastGen
	k.current, k.retired = key, nil
	k.idCurrent, k.idRetired = nil, nil
	k.staleDoc, k.staleUntil = nil, time.Time{}
	k.verified.clear()
	if err := k.rebuildLocked(); err != nil {
		return err
	}
	return k.saveLocked()
}

// rotate makes a fresh key current; the old one is retired and stays in
// the JWKS until every token it signed has expired. With stale > 0 the
// document served so far keeps being served for that long: frozen in the
// same step as the rotation, so no request sees the new kid early.
func (k *Keyring) rotate(stale time.Duration) (string, error) {
	key, err := generateKey(k.alg, typAccessToken)
	if err != nil {
		return "", err
	}
	// The ID-token key rotates with it once it exists.
	k.mu.RLock()
	hasID := k.idCurrent != nil
	k.mu.RUnlock()
	var idKey *signingKey
	if hasID {
		if idKey, err = generateKey(IDTokenSigningAlg, typIDToken); err != nil {
			return "", err
		}
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
	if idKey != nil {
		if k.idCurrent != nil {
			k.idRetired = append(k.idRetired, k.idCurrent)
		}
		k.idCurrent = idKey
	}
	k.pruneLocked(now)
	if err := k.rebuildLocked(); err != nil {
		return "", err
	}
	return key.kid, k.saveLocked()
}

func (k *Keyring) pruneLocked(now time.Time) bool {
	n := len(k.retired) + len(k.idRetired)
	done := func(r *signingKey) bool { return time.Unix(r.lastExp.Load(), 0).Add(Leeway).Before(now) }
	k.retired = slices.DeleteFunc(k.retired, done)
	k.idRetired = slices.DeleteFunc(k.idRetired, done)
	return len(k.retired)+len(k.idRetired) != n
}

func (k *Keyring) rebuildLocked() error {
	set, published := jwk.NewSet(), jwk.NewSet()
	for _, key := range append([]*signingKey{k.current}, k.retired...) {
		if err := set.AddKey(key.pub); err != nil {
			return fmt.Errorf("oauth: JWKS: %w", err)
		}
		if err := published.AddKey(key.pub); err != nil {
			return fmt.Errorf("oauth: JWKS: %w", err)
		}
	}
	ids := k.idRetired
	if k.idCurrent != nil {
		ids = append([]*signingKey{k.idCurrent}, ids...)
	}
	for _, key := range ids {
		if err := published.AddKey(key.pub); err != nil {
			return fmt.Errorf("oauth: JWKS: %w", err)
		}
	}
	doc, err := json.Marshal(published)
	if err != nil {
		return fmt.Errorf("oauth: JWKS: %w", err)
	}
	k.set, k.doc = set, doc
	return nil
}

// refresh drops retired keys whose tokens have all expired.
func (k *Keyring) refresh() {
	now := k.clock.Now()
	k.mu.RLock()
	due := false
	for _, r := range append(slices.Clip(k.retired), k.idRetired...) {
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
func (k *Keyring) generations() (oldest, current uint64) {
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
func (k *Keyring) verificationSet() jwk.Set {
	k.refresh()
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.set
}

// document returns the JWKS served at /.well-known/jwks.json. It makes
// the ID-token key first, so a client that caches the JWKS finds it.
func (k *Keyring) document() []byte {
	if _, err := k.idKey(); err != nil {
		k.log.Error("oauth: ID token key", "err", err)
	}
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
func (k *Keyring) freeze(d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.freezeLocked(k.clock.Now(), d)
}

func (k *Keyring) freezeLocked(now time.Time, d time.Duration) {
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
func (k *Keyring) sign(payload []byte, exp time.Time) (string, error) {
	k.mu.RLock()
	key := k.current
	k.mu.RUnlock()
	key.noteExp(exp)
	return key.signCompact(payload)
}

// signID signs an ID token's claims with the ID-token key, typed JWT.
func (k *Keyring) signID(payload []byte, exp time.Time) (string, error) {
	key, err := k.idKey()
	if err != nil {
		return "", err
	}
	key.noteExp(exp)
	return key.signCompact(payload)
}

// idKey returns the current ID-token key, making it if there is none yet.
// It is generated outside k.mu, so token signing never waits for it.
func (k *Keyring) idKey() (*signingKey, error) {
	k.mu.RLock()
	key := k.idCurrent
	k.mu.RUnlock()
	if key != nil {
		return key, nil
	}
	k.idMu.Lock()
	defer k.idMu.Unlock()
	k.mu.RLock()
	key = k.idCurrent
	k.mu.RUnlock()
	if key != nil {
		return key, nil
	}
	key, err := generateKey(IDTokenSigningAlg, typIDToken)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.idCurrent == nil {
		k.idCurrent = key
		if err := k.rebuildLocked(); err != nil {
			return nil, err
		}
		if err := k.saveLocked(); err != nil {
			return nil, err
		}
	}
	return k.idCurrent, nil
}

// noteExp records exp for the key's retirement: a retired key stays
// published until the last token it signed expired.
func (key *signingKey) noteExp(exp time.Time) {
	for {
		last := key.lastExp.Load()
		if exp.Unix() <= last || key.lastExp.CompareAndSwap(last, exp.Unix()) {
			return
		}
	}
}

// RotateKeys makes a fresh signing key current and returns its kid. The
// previous key stays in the JWKS until every token it signed has expired.
// With staleJWKS > 0 the JWKS keeps showing the key set of before the
// rotation for that long, as a lagging cache in front of the real
// platform would: tokens of the new key are then signed by a kid no
// integrator can find yet. Verification always uses the real keys.
func (k *Keyring) RotateKeys(ctx context.Context, staleJWKS time.Duration) (newKID string, err error) {
	kid, err := k.rotate(staleJWKS)
	if err != nil {
		return "", err
	}
	core.Logger(ctx, k.log).Info("oauth: signing key rotated", "kid", kid, "stale_jwks", staleJWKS)
	return kid, nil
}

// StaleJWKS keeps serving the JWKS document served now for d, even across
// rotations, as a stale cache in front of the real platform would; d <= 0
// ends it. Verification always uses the real keys.
func (k *Keyring) StaleJWKS(d time.Duration) { k.freeze(d) }

// scheduleRotation rotates on the injected clock, so advancing the
// virtual clock rotates at once.
func (k *Keyring) scheduleRotation(every time.Duration) {
	k.clock.AfterFunc(every, func() {
		if _, err := k.RotateKeys(context.Background(), 0); err != nil {
			k.log.Error("oauth: scheduled key rotation", "err", err)
		}
		k.scheduleRotation(every)
	})
}

// currentKID names the key new tokens are signed with.
func (k *Keyring) currentKID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current.kid
}
