package oauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// KeyStore keeps the Keyring's keys across restarts, so that a token
// issued before a restart verifies after it. The snapshot holds private
// keys: a store keeps it where only the sandbox can read it.
type KeyStore interface {
	// LoadKeys returns the snapshot saved last, or nil when none was.
	LoadKeys(ctx context.Context) ([]byte, error)
	// SaveKeys replaces the saved snapshot.
	SaveKeys(ctx context.Context, snapshot []byte) error
}

// SharedKeyStore is a KeyStore several processes share (replicas on one
// database). Changes are compare-and-set, so two processes changing the
// keys at once both have their change, and the expiry of the last token
// each key signed is recorded there, the latest any process recorded, so
// a key retired by one process stays while another's tokens live.
type SharedKeyStore interface {
	KeyStore
	// SwapKeys replaces the snapshot with next when the stored one is
	// still prev (nil: none is stored) and reports whether it did; the
	// recorded expiries of drop (kids no longer held) go with it.
	SwapKeys(ctx context.Context, prev, next []byte, drop []string) (bool, error)
	// RaiseKeyExpiry records that a token kid signed expires at exp
	// (Unix seconds) and returns the latest expiry recorded for kid.
	RaiseKeyExpiry(ctx context.Context, kid string, exp int64) (int64, error)
	// KeyExpiry returns the latest expiry recorded for kid, 0 when none is.
	KeyExpiry(ctx context.Context, kid string) (int64, error)
}

// keyStoreTimeout bounds a load or save of the keys.
const keyStoreTimeout = 30 * time.Second

// maxTokenLifetime is the longest a token the keys sign may live: a
// service token's 30 days. A save does not follow every signature, so a
// restored current key counts its tokens as living that long: once
// retired, it stays published until they surely expired.
const maxTokenLifetime = 30 * 24 * time.Hour

// keySnapshot is what a KeyStore keeps: every key the keyring holds, with
// what its retirement needs.
type keySnapshot struct {
	LastGen   uint64      `json:"last_gen"`
	Current   storedKey   `json:"current"`
	Retired   []storedKey `json:"retired,omitempty"`
	IDCurrent *storedKey  `json:"id_current,omitempty"`
	IDRetired []storedKey `json:"id_retired,omitempty"`
	// NextRotation is the due time of the next scheduled rotation on the
	// sandbox clock (Unix ns), which processes sharing the store share.
	NextRotation int64 `json:"next_rotation,omitempty"`
}

// storedKey is one key: its PKCS #8 private key, generation and the
// expiry of the last token it signed (Unix seconds).
type storedKey struct {
	Alg     string `json:"alg"`
	Typ     string `json:"typ"`
	PKCS8   []byte `json:"pkcs8"`
	Gen     uint64 `json:"gen"`
	LastExp int64  `json:"last_exp"`
}

func storeKey(key *signingKey, typ string) (storedKey, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key.priv)
	if err != nil {
		return storedKey{}, fmt.Errorf("oauth: save key %s: %w", key.kid, err)
	}
	return storedKey{Alg: string(key.alg), Typ: typ, PKCS8: der, Gen: key.gen, LastExp: key.lastExp.Load()}, nil
}

func (s storedKey) load() (*signingKey, error) {
	priv, err := x509.ParsePKCS8PrivateKey(s.PKCS8)
	if err != nil {
		return nil, fmt.Errorf("oauth: stored key: %w", err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("oauth: stored key: %T cannot sign", priv)
	}
	key, err := newSigningKey(signer, jwa.SignatureAlgorithm(s.Alg), s.Typ)
	if err != nil {
		return nil, err
	}
	key.gen = s.Gen
	key.lastExp.Store(s.LastExp)
	return key, nil
}

// snapshotLocked encodes every key, and lists their kids.
func (k *Keyring) snapshotLocked() ([]byte, []string, error) {
	snap := keySnapshot{LastGen: k.lastGen}
	if !k.next.IsZero() {
		snap.NextRotation = k.next.UnixNano()
	}
	var kids []string
	add := func(key *signingKey, typ string) (storedKey, error) {
		kids = append(kids, key.kid)
		return storeKey(key, typ)
	}
	var err error
	if snap.Current, err = add(k.current, typAccessToken); err != nil {
		return nil, nil, err
	}
	for _, r := range k.retired {
		sk, err := add(r, typAccessToken)
		if err != nil {
			return nil, nil, err
		}
		snap.Retired = append(snap.Retired, sk)
	}
	if k.idCurrent != nil {
		sk, err := add(k.idCurrent, typIDToken)
		if err != nil {
			return nil, nil, err
		}
		snap.IDCurrent = &sk
	}
	for _, r := range k.idRetired {
		sk, err := add(r, typIDToken)
		if err != nil {
			return nil, nil, err
		}
		snap.IDRetired = append(snap.IDRetired, sk)
	}
	data, err := json.Marshal(snap)
	return data, kids, err
}

// saveLocked writes every key to the store, if any; k.mu is held, so
// saves follow the changes in order.
func (k *Keyring) saveLocked() error {
	if k.store == nil {
		return nil
	}
	data, kids, err := k.snapshotLocked()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyStoreTimeout)
	defer cancel()
	if err := k.store.SaveKeys(ctx, data); err != nil {
		return fmt.Errorf("oauth: save the signing keys: %w", err)
	}
	k.saved, k.savedKids = data, kids
	return nil
}

// maxSwaps bounds the attempts of a change of shared keys that other
// processes keep changing under it.
const maxSwaps = 8

// commitLocked saves the keys after a change; k.mu is held. On a shared
// store the save is a compare-and-set against the snapshot last saved or
// loaded: when another process changed the keys meanwhile, its snapshot
// is applied and redo makes the change again on it (false: nothing left
// to change; nil: the stored keys stand), so neither change is lost.
func (k *Keyring) commitLocked(redo func() (bool, error)) error {
	if k.shared == nil {
		return k.saveLocked()
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyStoreTimeout)
	defer cancel()
	for range maxSwaps {
		data, kids, err := k.snapshotLocked()
		if err != nil {
			return err
		}
		var drop []string
		for _, kid := range k.savedKids {
			if !slices.Contains(kids, kid) {
				drop = append(drop, kid)
			}
		}
		ok, err := k.shared.SwapKeys(ctx, k.saved, data, drop)
		if err != nil {
			return fmt.Errorf("oauth: save the signing keys: %w", err)
		}
		if ok {
			k.saved, k.savedKids = data, kids
			return nil
		}
		stored, err := k.shared.LoadKeys(ctx)
		if err != nil {
			return fmt.Errorf("oauth: load the signing keys: %w", err)
		}
		if stored == nil {
			k.saved, k.savedKids = nil, nil
			continue
		}
		if _, err := k.applyLocked(stored); err != nil {
			return err
		}
		if redo == nil {
			return nil
		}
		if again, err := redo(); err != nil || !again {
			return err
		}
	}
	return errors.New("oauth: save the signing keys: other processes kept changing them")
}

// restore loads the keys the store keeps; false when it keeps none. A
// current key of another algorithm than the configured one (the flag
// changed) is retired for a new key of the configured one.
func (k *Keyring) restore() (bool, error) {
	if k.store == nil {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyStoreTimeout)
	defer cancel()
	data, err := k.store.LoadKeys(ctx)
	if err != nil {
		return false, fmt.Errorf("oauth: load the signing keys: %w", err)
	}
	if data == nil {
		return false, nil
	}
	k.mu.Lock()
	alg, err := k.applyLocked(data)
	k.mu.Unlock()
	if err != nil {
		return false, err
	}
	if alg != k.alg {
		if _, _, err := k.rotate(0, time.Time{}); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Reload replaces the keys with those the store keeps when they differ
// from the ones this keyring saved or loaded last: another process
// sharing the store rotated or reset them. A token signed by any key
// the store keeps verifies, and the JWKS lists them all, from then on.
// Without a store, or with nothing stored, it does nothing. Unlike a
// start, a current key of another algorithm is kept: processes sharing
// a store are expected to be configured alike, and rotating here would
// have each undo the other's key.
func (k *Keyring) Reload(ctx context.Context) error {
	if k.store == nil {
		return nil
	}
	data, err := k.store.LoadKeys(ctx)
	if err != nil {
		return fmt.Errorf("oauth: load the signing keys: %w", err)
	}
	k.mu.RLock()
	same := data == nil || bytes.Equal(data, k.saved)
	k.mu.RUnlock()
	if same {
		return nil
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if bytes.Equal(data, k.saved) {
		return nil
	}
	_, err = k.applyLocked(data)
	return err
}

// applyLocked makes a stored snapshot the keyring's keys and returns the
// current key's algorithm; k.mu is held. A key this keyring already
// holds keeps the later of its own and the stored expiry of the tokens
// it signed. Without a shared store the current key counts its tokens as
// living maxTokenLifetime, since the snapshot does not follow every
// signature; a shared store records every key's expiry itself, and
// gives the next scheduled rotation's due time.
func (k *Keyring) applyLocked(data []byte) (jwa.SignatureAlgorithm, error) {
	var snap keySnapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return "", fmt.Errorf("oauth: stored signing keys: %w", err)
	}
	load := func(list []storedKey) ([]*signingKey, error) {
		var out []*signingKey
		for _, s := range list {
			key, err := s.load()
			if err != nil {
				return nil, err
			}
			out = append(out, key)
		}
		return out, nil
	}
	cur, err := snap.Current.load()
	if err != nil {
		return "", err
	}
	retired, err := load(snap.Retired)
	if err != nil {
		return "", err
	}
	idRetired, err := load(snap.IDRetired)
	if err != nil {
		return "", err
	}
	var idCur *signingKey
	if snap.IDCurrent != nil {
		if idCur, err = snap.IDCurrent.load(); err != nil {
			return "", err
		}
	}
	if k.shared == nil {
		horizon := k.clock.Now().Add(maxTokenLifetime)
		cur.noteExp(horizon)
		if idCur != nil {
			idCur.noteExp(horizon)
		}
	} else if snap.NextRotation != 0 {
		k.next = time.Unix(0, snap.NextRotation)
	}
	held := map[string]*signingKey{}
	for _, key := range append(append([]*signingKey{k.current, k.idCurrent}, k.retired...), k.idRetired...) {
		if key != nil {
			held[key.kid] = key
		}
	}
	for _, key := range append(append([]*signingKey{cur, idCur}, retired...), idRetired...) {
		if old, ok := heldKey(held, key); ok {
			key.noteExp(time.Unix(old.lastExp.Load(), 0))
			raise(&key.reserved, old.reserved.Load())
		}
	}
	k.lastGen, k.current, k.retired, k.idCurrent, k.idRetired = snap.LastGen, cur, retired, idCur, idRetired
	k.saved, k.savedKids = data, nil
	for _, key := range append(append([]*signingKey{cur, idCur}, retired...), idRetired...) {
		if key != nil {
			k.savedKids = append(k.savedKids, key.kid)
		}
	}
	if err := k.rebuildLocked(); err != nil {
		return "", err
	}
	return cur.alg, nil
}

// heldKey finds in held the key of key's kid (key may be nil).
func heldKey(held map[string]*signingKey, key *signingKey) (*signingKey, bool) {
	if key == nil {
		return nil, false
	}
	old, ok := held[key.kid]
	return old, ok
}
