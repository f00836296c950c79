package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/knogin/argus-sandbox/emulator/oauth"
)

// KeyStore is the oauth.SharedKeyStore of a DB: the signing keys'
// snapshot in one meta row, and the expiry of the last token each key
// signed in a counter of its own (keyExpiryPrefix + kid). The database is
// the sandbox's alone (files 0600, or a PostgreSQL role's), so the
// private keys are as private as the apps' secret digests.
type KeyStore struct {
	db *DB
}

var _ oauth.SharedKeyStore = (*KeyStore)(nil)

// Keys returns the oauth.KeyStore of d.
func (d *DB) Keys() *KeyStore { return &KeyStore{db: d} }

const (
	signingKeysMeta = "signing_keys"
	keyExpiryPrefix = "key_exp:"
)

// LoadKeys returns the saved snapshot, nil when none was saved.
func (s *KeyStore) LoadKeys(ctx context.Context) ([]byte, error) {
	var v string
	err := s.db.read().queryRow(ctx, "SELECT value FROM meta WHERE key = ?", signingKeysMeta).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return []byte(v), nil
}

// SaveKeys replaces the saved snapshot; on PostgreSQL it moves the keys'
// shared version, so the other replicas reload the snapshot at their next
// request.
func (s *KeyStore) SaveKeys(ctx context.Context, snapshot []byte) error {
	return s.db.saveMeta(ctx, KindKeys, signingKeysMeta, string(snapshot))
}

// SwapKeys replaces the snapshot with next when the stored one is still
// prev (nil: none is stored), forgetting the recorded expiries of drop in
// the same transaction; on PostgreSQL a swap moves the keys' shared
// version.
func (s *KeyStore) SwapKeys(ctx context.Context, prev, next []byte, drop []string) (bool, error) {
	return s.db.swapMeta(ctx, KindKeys, signingKeysMeta, prev, next, func(c conn) error {
		for _, kid := range drop {
			if _, err := c.exec(ctx, "DELETE FROM counters WHERE name = ?", keyExpiryPrefix+kid); err != nil {
				return err
			}
		}
		return nil
	})
}

// RaiseKeyExpiry records exp as an expiry of a token kid signed, in one
// statement, and returns the latest recorded.
func (s *KeyStore) RaiseKeyExpiry(ctx context.Context, kid string, exp int64) (int64, error) {
	var n int64
	err := s.db.read().queryRow(ctx, `INSERT INTO counters (name, n) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET n = CASE WHEN excluded.n > counters.n THEN excluded.n ELSE counters.n END
		RETURNING n`, keyExpiryPrefix+kid, exp).Scan(&n)
	return n, err
}

// KeyExpiry returns the latest expiry recorded for kid, 0 when none is.
func (s *KeyStore) KeyExpiry(ctx context.Context, kid string) (int64, error) {
	var n int64
	err := s.db.read().queryRow(ctx, "SELECT n FROM counters WHERE name = ?", keyExpiryPrefix+kid).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}
