package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"time"

	"github.com/knogin/argus-sandbox/emulator/oauth"
)

// OAuthStore is the oauth.Store of a DB. Codes, grants and refresh tokens
// are documents keyed by their hash or id; access-token records live in
// their columns alone (status: revoked, k1: grant id, num: key
// generation, at: expiry), so a revocation is one upsert and the
// verifier's check one indexed read.
type OAuthStore struct {
	db *DB
}

var _ oauth.Store = (*OAuthStore)(nil)

// OAuth returns the oauth.Store of d.
func (d *DB) OAuth() *OAuthStore { return &OAuthStore{db: d} }

const revoked = "revoked"

func oauthErr(err error) error {
	if errors.Is(err, errNoRecord) {
		return oauth.ErrNotFound
	}
	return err
}

// createDoc inserts a new document, ErrExists when the key is taken.
func (s *OAuthStore) createDoc(ctx context.Context, r row) error {
	ok, err := s.db.read().insert(ctx, r)
	if err == nil && !ok {
		err = oauth.ErrExists
	}
	return err
}

// updateDoc applies fn to the stored *T and stores the result only if the
// record is still the one fn saw: a read, then an UPDATE conditioned on
// the document's text (a compare-and-swap), two round trips where a
// transaction holding the row takes four. When another update came in
// between, it starts again from the read, so fn may run more than once
// and only its last run counts; updates of one record are still atomic
// with respect to each other, and none is lost. Like the MemoryStore, it
// returns the stored value unchanged beside fn's error. status tells the
// status column of a value; the other key columns are left as created.
func updateDoc[T any](ctx context.Context, d *DB, kind, id string, at func(*T) time.Time, status func(*T) string, fn func(*T) error) (T, error) {
	var zero T
	busy := 0 // database errors worth a retry, given up after 8 as write does
	for attempt := 0; ; attempt++ {
		var doc string
		err := d.read().queryRow(ctx, "SELECT doc FROM records WHERE kind = ? AND parent = '' AND id = ?", kind, id).Scan(&doc)
		if errors.Is(err, sql.ErrNoRows) {
			return zero, oauth.ErrNotFound
		}
		if err != nil {
			return zero, err
		}
		var v T
		if err := decode(doc, &v); err != nil {
			return zero, err
		}
		was := status(&v)
		if err := fn(&v); err != nil {
			var kept T
			_ = decode(doc, &kept)
			return kept, err
		}
		next, err := marshal(v)
		if err != nil {
			return zero, err
		}
		// A grant's status is what a token's check reads of it: a change
		// of it moves the authentication generation (authCache).
		moved := kind == kindGrant && was != status(&v)
		swapped, err := d.swapAuth(ctx, moved, `UPDATE records SET status = ?, at = ?, doc = ?
			WHERE kind = ? AND parent = '' AND id = ? AND doc = ?`, status(&v), micros(at(&v)), next, kind, id, doc)
		switch {
		case err == nil && swapped:
			return v, nil
		case err != nil && !retryable(err):
			return zero, err
		case err != nil:
			if busy++; busy == 8 {
				return zero, err
			}
		}
		// Another update came first (or the database asked for a retry).
		select {
		case <-ctx.Done():
			return zero, ctx.Err()
		case <-time.After(time.Duration(min(attempt, 8)) * time.Millisecond):
		}
	}
}

// swapAuth runs a conditional UPDATE outside a transaction and reports
// whether it changed a row. On SQLite it waits for the process's write
// lock, as a write transaction does, rather than polling SQLite's busy
// handler. When moved it also moves the authentication generation (see
// authCounter): on PostgreSQL in the same statement, the UPDATE a CTE
// whose row, if any, moves the shared version; then locally.
func (d *DB) swapAuth(ctx context.Context, moved bool, query string, args ...any) (bool, error) {
	if d.d.writeMu != nil {
		d.d.writeMu.Lock()
		defer d.d.writeMu.Unlock()
	}
	if moved {
		defer d.auth.moved()
		if d.d.postgres {
			query = `WITH swapped AS (` + query + ` RETURNING 1)
				INSERT INTO counters (name, n) SELECT ?, 1 FROM swapped
				ON CONFLICT (name) DO UPDATE SET n = counters.n + 1`
			args = append(args, authCounter)
		}
	}
	res, err := d.read().exec(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func getDoc[T any](ctx context.Context, d *DB, kind, id string) (T, error) {
	var v T
	_, err := d.read().get(ctx, &v, kind, "", id)
	return v, oauthErr(err)
}

func noStatus[T any](*T) string { return "" }

func grantStatus(g *oauth.Grant) string {
	if g.Revoked {
		return revoked
	}
	return ""
}

// CreateCode stores a new code.
func (s *OAuthStore) CreateCode(ctx context.Context, c oauth.AuthCode) error {
	return s.createDoc(ctx, row{kind: kindCode, id: c.Hash, tenant: c.Tenant, at: micros(c.Expires), doc: c})
}

// UpdateCode changes a code through fn.
func (s *OAuthStore) UpdateCode(ctx context.Context, hash string, fn func(*oauth.AuthCode) error) (oauth.AuthCode, error) {
	return updateDoc(ctx, s.db, kindCode, hash, func(c *oauth.AuthCode) time.Time { return c.Expires }, noStatus, func(c *oauth.AuthCode) error {
		if err := fn(c); err != nil {
			return err
		}
		c.Hash = hash
		return nil
	})
}

// CreateGrant stores a new grant.
func (s *OAuthStore) CreateGrant(ctx context.Context, g oauth.Grant) error {
	return s.createDoc(ctx, row{kind: kindGrant, id: g.ID, tenant: g.Tenant, at: micros(g.Expires), status: grantStatus(&g), doc: g})
}

// GetGrant returns a grant.
func (s *OAuthStore) GetGrant(ctx context.Context, id string) (oauth.Grant, error) {
	return getDoc[oauth.Grant](ctx, s.db, kindGrant, id)
}

// UpdateGrant changes a grant through fn.
func (s *OAuthStore) UpdateGrant(ctx context.Context, id string, fn func(*oauth.Grant) error) (oauth.Grant, error) {
	return updateDoc(ctx, s.db, kindGrant, id, func(g *oauth.Grant) time.Time { return g.Expires }, grantStatus, func(g *oauth.Grant) error {
		if err := fn(g); err != nil {
			return err
		}
		g.ID = id
		return nil
	})
}

// CreateRefresh stores a new refresh token.
func (s *OAuthStore) CreateRefresh(ctx context.Context, t oauth.RefreshToken) error {
	return s.createDoc(ctx, row{kind: kindRefresh, id: t.Hash, k1: t.GrantID, at: micros(t.Expires), doc: t})
}

// GetRefresh returns a refresh token.
func (s *OAuthStore) GetRefresh(ctx context.Context, hash string) (oauth.RefreshToken, error) {
	return getDoc[oauth.RefreshToken](ctx, s.db, kindRefresh, hash)
}

// UpdateRefresh changes a refresh token through fn.
func (s *OAuthStore) UpdateRefresh(ctx context.Context, hash string, fn func(*oauth.RefreshToken) error) (oauth.RefreshToken, error) {
	return updateDoc(ctx, s.db, kindRefresh, hash, func(t *oauth.RefreshToken) time.Time { return t.Expires }, noStatus, func(t *oauth.RefreshToken) error {
		if err := fn(t); err != nil {
			return err
		}
		t.Hash = hash
		return nil
	})
}

// PutAccess stores or replaces an access-token record in one statement; a
// stored revocation stays, with the higher of the two key generations.
func (s *OAuthStore) PutAccess(ctx context.Context, a oauth.AccessRecord) error {
	status := ""
	if a.Revoked {
		status = revoked
	}
	query := `INSERT INTO records (kind, parent, id, status, k1, at, num, doc)
		VALUES (?, '', ?, ?, ?, ?, ?, '{}')
		ON CONFLICT (kind, parent, id) DO UPDATE SET
			k1 = excluded.k1, at = excluded.at,
			num = CASE WHEN records.status = 'revoked' AND records.num > excluded.num THEN records.num ELSE excluded.num END,
			status = CASE WHEN records.status = 'revoked' THEN 'revoked' ELSE excluded.status END`
	args := []any{kindAccess, a.JTI, status, a.GrantID, micros(a.Expires), clampGen(a.KeyGen)}
	if a.Revoked {
		// A revocation moves the authentication generation (authCache), on
		// PostgreSQL in the same statement. A token's first record, written
		// before the token is handed out, moves nothing: no request can
		// have presented it yet.
		defer s.db.auth.moved()
		if s.db.Postgres() {
			// The counter's INSERT reads put, so the record is written
			// (and locked) first, as every other write of authentication
			// state does: an unreferenced data-modifying CTE would run
			// after the counter's update, locking the two rows in the
			// other order, and deadlock against a prune or a tenant
			// deletion holding the record.
			query = `WITH put AS (` + query + ` RETURNING 1)
				INSERT INTO counters (name, n) SELECT ?, 1 FROM put
				ON CONFLICT (name) DO UPDATE SET n = counters.n + 1`
			args = append(args, authCounter)
		}
	}
	_, err := s.db.read().exec(ctx, query, args...)
	return err
}

func clampGen(g uint64) int64 { return int64(min(g, math.MaxInt64)) }

// AccessActive reports whether jti is neither revoked nor part of a
// revoked or forgotten grant; an unknown jti is active unless recorded.
func (s *OAuthStore) AccessActive(ctx context.Context, jti string, recorded bool) (bool, error) {
	rows, err := s.db.read().query(ctx, `SELECT a.status, a.k1, g.status FROM records a
		LEFT JOIN records g ON g.kind = ? AND g.parent = '' AND g.id = a.k1
		WHERE a.kind = ? AND a.parent = '' AND a.id = ?`, kindGrant, kindAccess, jti)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return !recorded, rows.Err()
	}
	var status, grantID string
	var grantStatus *string
	if err := rows.Scan(&status, &grantID, &grantStatus); err != nil {
		return false, err
	}
	if status == revoked {
		return false, nil
	}
	if grantID != "" && (grantStatus == nil || *grantStatus == revoked) {
		return false, nil
	}
	return true, nil
}

// pruneTimeout bounds a Prune, which has no context of its own.
const pruneTimeout = time.Minute

// Prune forgets what expired before cutoff, and the revocations the
// verifier can no longer need (see oauth.Store.Prune). A failure leaves
// the records for the next Prune.
func (s *OAuthStore) Prune(cutoff time.Time, oldestKey uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), pruneTimeout)
	defer cancel()
	before := micros(cutoff.Add(-oauth.Leeway))
	// A grant or an access record forgotten may turn a remembered active
	// token inactive (an access record gone from under a recorded token,
	// a grant gone): such a prune moves the authentication generation.
	var gone int64
	deleted := func(res sql.Result) {
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			gone++
		}
	}
	defer func() {
		if gone > 0 {
			s.db.auth.moved()
		}
	}()
	_ = s.db.write(ctx, nil, func(c conn) error {
		gone = 0
		if _, err := c.exec(ctx, "DELETE FROM records WHERE kind IN (?, ?) AND at < ?", kindCode, kindRefresh, before); err != nil {
			return err
		}
		for _, q := range []struct {
			query string
			args  []any
		}{
			{"DELETE FROM records WHERE kind = ? AND at < ?", []any{kindGrant, before}},
			{"DELETE FROM records WHERE kind = ? AND status = ? AND num < ?", []any{kindAccess, revoked, clampGen(oldestKey)}},
			{"DELETE FROM records WHERE kind = ? AND status <> ? AND at < ?", []any{kindAccess, revoked, before}},
		} {
			res, err := c.exec(ctx, q.query, q.args...)
			if err != nil {
				return err
			}
			deleted(res)
		}
		var n int
		if err := c.queryRow(ctx, "SELECT COUNT(*) FROM records WHERE kind = ? AND status = ?", kindAccess, revoked).Scan(&n); err != nil {
			return err
		}
		if n > oauth.MaxRevocations {
			res, err := c.exec(ctx, "DELETE FROM records WHERE kind = ? AND at < ?", kindAccess, before)
			if err != nil {
				return err
			}
			deleted(res)
		}
		if gone > 0 {
			return c.authMoved(ctx)
		}
		return nil
	})
}

// Reset forgets everything the token service stored.
func (s *OAuthStore) Reset(ctx context.Context) error {
	return s.db.authWrite(ctx, nil, func(c conn) error {
		_, err := c.exec(ctx, "DELETE FROM records WHERE kind IN (?, ?, ?, ?)", kindCode, kindGrant, kindRefresh, kindAccess)
		return err
	})
}

// DeleteTenant forgets the tenant's codes and grants with their refresh
// tokens and grant-bound access records, so those tokens fail closed.
func (s *OAuthStore) DeleteTenant(ctx context.Context, tenant string) error {
	return s.db.authWrite(ctx, nil, func(c conn) error {
		grants := "SELECT id FROM records WHERE kind = ? AND parent = '' AND tenant = ?"
		for _, k := range []string{kindRefresh, kindAccess} {
			if _, err := c.exec(ctx, "DELETE FROM records WHERE kind = ? AND k1 IN ("+grants+")", k, kindGrant, tenant); err != nil {
				return err
			}
		}
		_, err := c.exec(ctx, "DELETE FROM records WHERE kind IN (?, ?) AND tenant = ?", kindCode, kindGrant, tenant)
		return err
	})
}
