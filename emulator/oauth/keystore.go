package oauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
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

// saveLocked writes every key to the store, if any; k.mu is held, so
// saves follow the changes in order.
func (k *Keyring) saveLocked() error {
	if k.store == nil {
		return nil
	}
	snap := keySnapshot{LastGen: k.lastGen}
	var err error
	if snap.Current, err = storeKey(k.current, typAccessToken); err != nil {
		return err
	}
	for _, r := range k.retired {
		sk, err := storeKey(r, typAccessToken)
		if err != nil {
			return err
		}
		snap.Retired = append(snap.Retired, sk)
	}
	if k.idCurrent != nil {
		sk, err := storeKey(k.idCurrent, typIDToken)
		if err != nil {
			return err
		}
		snap.IDCurrent = &sk
	}
	for _, r := range k.idRetired {
		sk, err := storeKey(r, typIDToken)
		if err != nil {
			return err
		}
		snap.IDRetired = append(snap.IDRetired, sk)
	}
	data, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyStoreTimeout)
	defer cancel()
	if err := k.store.SaveKeys(ctx, data); err != nil {
		return fmt.Errorf("oauth: save the signing keys: %w", err)
	}
	k.saved = data
	return nil
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
	alg, err := k.apply(data)
	if err != nil {
		return false, err
	}
	if alg != k.alg {
		if _, err := k.rotate(0); err != nil {
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
	_, err = k.apply(data)
	return err
}

// apply makes a stored snapshot the keyring's keys and returns the
// current key's algorithm. A key this keyring already holds keeps the
// later of its own and the stored expiry of the tokens it signed, and
// the current key counts its tokens as living maxTokenLifetime: the
// snapshot does not follow every signature, here or in another process.
func (k *Keyring) apply(data []byte) (jwa.SignatureAlgorithm, error) {
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
	horizon := k.clock.Now().Add(maxTokenLifetime)
	cur.noteExp(horizon)
	if idCur != nil {
		idCur.noteExp(horizon)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	held := map[string]*signingKey{}
	for _, key := range append(append([]*signingKey{k.current, k.idCurrent}, k.retired...), k.idRetired...) {
		if key != nil {
			held[key.kid] = key
		}
	}
	for _, key := range append(append([]*signingKey{cur, idCur}, retired...), idRetired...) {
		if old, ok := heldKey(held, key); ok {
			key.noteExp(time.Unix(old.lastExp.Load(), 0))
		}
	}
	k.lastGen, k.current, k.retired, k.idCurrent, k.idRetired = snap.LastGen, cur, retired, idCur, idRetired
	k.saved = data
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
