package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/knogin/argus-sandbox/emulator/oauth"
)

// KeyStore is the oauth.KeyStore of a DB: the signing keys' snapshot in
// one meta row. The database is the sandbox's alone (files 0600, or a
// PostgreSQL role's), so the private keys are as private as the apps'
// secret digests.
type KeyStore struct {
	db *DB
}

var _ oauth.KeyStore = (*KeyStore)(nil)

// Keys returns the oauth.KeyStore of d.
func (d *DB) Keys() *KeyStore { return &KeyStore{db: d} }

const signingKeysMeta = "signing_keys"

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

// SaveKeys replaces the saved snapshot; on PostgreSQL it moves the shared
// version, so the other replicas reload the snapshot at their next
// request.
func (s *KeyStore) SaveKeys(ctx context.Context, snapshot []byte) error {
	return s.db.saveMeta(ctx, signingKeysMeta, string(snapshot))
}
