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
	// reserved is the expiry recorded for the key in a SharedKeyStore:
	// a token expiring by then needs no record of its own.
	reserved atomic.Int64
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
	// Shared says other processes share Store (replicas on one
	// database); Store must then be a SharedKeyStore. Every change of the
	// keys is then a compare-and-set, a scheduled rotation happens once
	// across the processes, and a retired key stays until the last token
	// any of them signed with it expired.
	Shared bool
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

	// store keeps the keys across restarts (nil: memory only); shared is
	// it when other processes share it.
	store  KeyStore
	shared SharedKeyStore
	// saved is the snapshot last saved to or loaded from store: Reload
	// skips a snapshot that equals it; savedKids are its keys. Guarded
	// by mu.
	saved     []byte
	savedKids []string
	// every is the rotation period (0: none) and next the due time of
	// the next scheduled rotation, on the sandbox clock; on a shared
	// store next is stored with the keys, so the processes rotate once
	// per period between them. next is guarded by mu.
	every time.Duration
	next  time.Time

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
	k := &Keyring{alg: jwa.SignatureAlgorithm(cfg.SigningAlg), clock: cfg.Clock, log: cfg.Logger, store: cfg.Store, every: cfg.Rotation}
	if cfg.Shared {
		shared, ok := cfg.Store.(SharedKeyStore)
		if !ok {
			return nil, errors.New("oauth: keyring Shared needs a Store that is a SharedKeyStore")
		}
		k.shared = shared
	}
	restored, err := k.restore()
	if err != nil {
		return nil, err
	}
	if !restored {
		// Another process starting at once may save its keys first: they
		// stand.
		if err := k.resetKeys(false); err != nil {
			return nil, err
		}
	}
	if cfg.Rotation > 0 {
		if err := k.startSchedule(); err != nil {
			return nil, err
		}
		k.scheduleRotation()
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
func (k *Keyring) reset() error { return k.resetKeys(true) }

// resetKeys is reset; on a shared store changed meanwhile by another
// process, force resets its keys too, else they stand.
func (k *Keyring) resetKeys(force bool) error {
	key, err := generateKey(k.alg, typAccessToken)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	do := func() (bool, error) {
		k.lastGen++
		key.gen = k.lastGen
		k.current, k.retired = key, nil
		k.idCurrent, k.idRetired = nil, nil
		k.staleDoc, k.staleUntil = nil, time.Time{}
		k.verified.clear()
		return true, k.rebuildLocked()
	}
	if _, err := do(); err != nil {
		return err
	}
	if !force {
		do = nil
	}
	return k.commitLocked(do)
}

// rotate makes a fresh key current; the old one is retired and stays in
// the JWKS until every token it signed has expired. With stale > 0 the
// document served so far keeps being served for that long: frozen in the
// same step as the rotation, so no request sees the new kid early.
//
// A scheduled rotation passes its due time: it rotates only when no other
// process sharing the store rotated for that due time already (rotated
// false), and sets the next due time.
func (k *Keyring) rotate(stale time.Duration, due time.Time) (kid string, rotated bool, err error) {
	key, err := generateKey(k.alg, typAccessToken)
	if err != nil {
		return "", false, err
	}
	// The ID-token key rotates with it once it exists.
	k.mu.RLock()
	hasID := k.idCurrent != nil
	k.mu.RUnlock()
	var idKey *signingKey
	if hasID {
		if idKey, err = generateKey(IDTokenSigningAlg, typIDToken); err != nil {
			return "", false, err
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.clock.Now()
	if stale > 0 {
		k.freezeLocked(now, stale)
	}
	do := func() (bool, error) {
		if !due.IsZero() && k.next.After(due) {
			return false, nil // rotated for this due time already
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
		if !due.IsZero() {
			k.next = due.Add(k.every)
			if !k.next.After(now) {
				k.next = now.Add(k.every)
			}
		}
		k.pruneLocked(now)
		return true, k.rebuildLocked()
	}
	if rotated, err = do(); err != nil || !rotated {
		return k.current.kid, false, err
	}
	if err := k.commitLocked(do); err != nil {
		return "", false, err
	}
	return k.current.kid, k.current == key, nil
}

func (k *Keyring) pruneLocked(now time.Time) bool {
	n := len(k.retired) + len(k.idRetired)
	done := func(r *signingKey) bool { return k.expired(r, now) }
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

// seemsExpired reports whether every token the key signed, as far as
// this process knows, has expired at now.
func (key *signingKey) seemsExpired(now time.Time) bool {
	return time.Unix(key.lastExp.Load(), 0).Add(Leeway).Before(now)
}

// expired reports whether every token the key signed has expired at now:
// on a shared store, those other processes signed too (the store's
// record is read only for a key that seems expired here).
func (k *Keyring) expired(key *signingKey, now time.Time) bool {
	if !key.seemsExpired(now) {
		return false
	}
	if k.shared == nil {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyStoreTimeout)
	defer cancel()
	exp, err := k.shared.KeyExpiry(ctx, key.kid)
	if err != nil {
		k.log.Error("oauth: reading a signing key's expiry failed; the key stays", "kid", key.kid, "err", err)
		return false
	}
	raise(&key.reserved, exp)
	key.noteExp(time.Unix(exp, 0))
	return key.seemsExpired(now)
}

// refresh drops retired keys whose tokens have all expired.
func (k *Keyring) refresh() {
	now := k.clock.Now()
	k.mu.RLock()
	due := false
	for _, r := range append(slices.Clip(k.retired), k.idRetired...) {
		if r.seemsExpired(now) {
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
	if err := k.noteExp(key, exp); err != nil {
		return "", err
	}
	return key.signCompact(payload)
}

// signID signs an ID token's claims with the ID-token key, typed JWT.
func (k *Keyring) signID(payload []byte, exp time.Time) (string, error) {
	key, err := k.idKey()
	if err != nil {
		return "", err
	}
	if err := k.noteExp(key, exp); err != nil {
		return "", err
	}
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
		// Another process sharing the store may have made one meanwhile:
		// then that one stands.
		set := func() (bool, error) {
			if k.idCurrent != nil {
				return false, nil
			}
			k.idCurrent = key
			return true, k.rebuildLocked()
		}
		if _, err := set(); err != nil {
			return nil, err
		}
		if err := k.commitLocked(set); err != nil {
			return nil, err
		}
	}
	return k.idCurrent, nil
}

// noteExp records exp for the key's retirement: a retired key stays
// published until the last token it signed expired.
func (key *signingKey) noteExp(exp time.Time) { raise(&key.lastExp, exp.Unix()) }

// raise makes v the value of a when it is larger.
func raise(a *atomic.Int64, v int64) {
	for {
		last := a.Load()
		if v <= last || a.CompareAndSwap(last, v) {
			return
		}
	}
}

// expirySlack is how far past a token's expiry a process records its
// key's expiry in a shared store, so that the tokens it signs in the
// next minute need no record of their own: a retired key stays published
// up to that much longer than its last token lives.
const expirySlack = time.Minute

// noteExp records exp for key's retirement; on a shared store the
// expiry is recorded there first (once a minute or so), so that another
// process keeps the key published while a token this one signed lives.
func (k *Keyring) noteExp(key *signingKey, exp time.Time) error {
	key.noteExp(exp)
	if k.shared == nil || exp.Unix() <= key.reserved.Load() {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyStoreTimeout)
	defer cancel()
	got, err := k.shared.RaiseKeyExpiry(ctx, key.kid, exp.Add(expirySlack).Unix())
	if err != nil {
		return fmt.Errorf("oauth: record the signing key's expiry: %w", err)
	}
	raise(&key.reserved, got)
	key.noteExp(time.Unix(got, 0))
	return nil
}

// RotateKeys makes a fresh signing key current and returns its kid. The
// previous key stays in the JWKS until every token it signed has expired.
// With staleJWKS > 0 the JWKS keeps showing the key set of before the
// rotation for that long, as a lagging cache in front of the real
// platform would: tokens of the new key are then signed by a kid no
// integrator can find yet. Verification always uses the real keys.
func (k *Keyring) RotateKeys(ctx context.Context, staleJWKS time.Duration) (newKID string, err error) {
	kid, _, err := k.rotate(staleJWKS, time.Time{})
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

// startSchedule sets the due time of the first scheduled rotation: a
// period from now, or, on a shared store, the one stored with the keys
// when another process set it.
func (k *Keyring) startSchedule() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.shared == nil {
		k.next = k.clock.Now().Add(k.every)
		return nil
	}
	if !k.next.IsZero() {
		return nil
	}
	set := func() (bool, error) {
		if !k.next.IsZero() {
			return false, nil
		}
		k.next = k.clock.Now().Add(k.every)
		return true, nil
	}
	_, _ = set()
	return k.commitLocked(set)
}

// scheduleRotation rotates at the next due time on the injected clock,
// so advancing the virtual clock rotates at once. On a shared store the
// processes' timers all fire, and the first to store its rotation wins:
// the others load it instead (rotate's due time).
func (k *Keyring) scheduleRotation() {
	k.mu.RLock()
	due := k.next
	k.mu.RUnlock()
	k.clock.AfterFunc(due.Sub(k.clock.Now()), func() {
		ctx := context.Background()
		if k.shared != nil {
			if err := k.Reload(ctx); err != nil {
				k.log.Error("oauth: scheduled key rotation", "err", err)
			}
		}
		k.mu.RLock()
		done := k.next.After(due) // another process rotated for it
		k.mu.RUnlock()
		if !done {
			kid, rotated, err := k.rotate(0, due)
			if err != nil {
				k.log.Error("oauth: scheduled key rotation", "err", err)
			} else if rotated {
				k.log.Info("oauth: signing key rotated on schedule", "kid", kid)
			}
		}
		k.mu.Lock()
		if now := k.clock.Now(); !k.next.After(now) {
			k.next = now.Add(k.every) // the rotation failed: try again a period later
		}
		k.mu.Unlock()
		k.scheduleRotation()
	})
}

// currentKID names the key new tokens are signed with.
func (k *Keyring) currentKID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current.kid
}
