package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knogin/argus-sandbox/emulator/idempotency"
)

// IdempotencyStore is the idempotency.Store of a DB: one record per key
// (kindIdempotency), parent and tenant its tenant, id its scope. at is
// its creation on the tenant's clock (the TTL), seq the order of claims
// (the eviction), status "running" or "done", k1 the claim's token, k2
// the request's fingerprint, num the lease of a running claim in real
// Unix microseconds, doc the kept answer.
type IdempotencyStore struct {
	db *DB
	// claims counts each tenant's new claims in this process: every
	// pruneEvery-th prunes the tenant's keys.
	claims sync.Map // tenant → *atomic.Int64
	// lastSeq keeps this process's claim order strictly increasing.
	lastSeq atomic.Int64
}

var _ idempotency.Store = (*IdempotencyStore)(nil)

// Idempotency returns the idempotency.Store of d.
func (d *DB) Idempotency() *IdempotencyStore { return &IdempotencyStore{db: d} }

const kindIdempotency = "idempotency_key"

// Record statuses of kindIdempotency.
const (
	idemRunning = "running"
	idemDone    = "done"
)

// storedAnswer is the doc of a completed key.
type storedAnswer struct {
	Status int         `json:"status"`
	Header http.Header `json:"header,omitempty"`
	Body   []byte      `json:"body,omitempty"`
}

// Claim implements idempotency.Store in one statement when the key is
// new (or expired, or its lease lapsed): an insert that, on the key's
// row, overwrites it only when it is no longer live. Concurrent claims of
// one key, from any replica, meet on the row: one inserts or
// overwrites, the others change nothing and read the winner's row.
func (s *IdempotencyStore) Claim(ctx context.Context, c idempotency.Claim) (idempotency.Entry, bool, error) {
	token := rand.Int64N(1<<62) + 1
	fp := hex.EncodeToString(c.Fingerprint[:])
	var lease, realNow int64
	if !c.Lease.IsZero() {
		lease = micros(c.Lease)
	}
	if !c.RealNow.IsZero() {
		realNow = micros(c.RealNow)
	}
	expired := micros(c.Now.Add(-c.TTL))
	for range 4 {
		var n int64
		err := s.db.writeAlone(ctx, func(cn conn) error {
			res, err := cn.exec(ctx, `INSERT INTO records (kind, parent, id, tenant, seq, status, k1, k2, at, num, doc)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')
				ON CONFLICT (kind, parent, id) DO UPDATE SET seq = excluded.seq, status = excluded.status,
					k1 = excluded.k1, k2 = excluded.k2, at = excluded.at, num = excluded.num, doc = excluded.doc
				WHERE records.at <= ? OR (records.status = ? AND records.num > 0 AND records.num < ?)`,
				kindIdempotency, c.Tenant, c.Scope, c.Tenant, s.seq(), idemRunning, fmt.Sprint(token), fp, micros(c.Now), lease,
				expired, idemRunning, realNow)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return idempotency.Entry{}, false, err
		}
		if n == 1 {
			// The prune is best-effort: the claim stands, and an error
			// here would leave its row running, unrenewed, for its lease.
			if err := s.maybePrune(ctx, c); err != nil {
				slog.WarnContext(ctx, "idempotency: pruning a tenant's keys failed; the next prune tries again",
					"tenant", c.Tenant, "error", err)
			}
			return idempotency.Entry{Fingerprint: c.Fingerprint, Token: token}, true, nil
		}
		e, err := s.get(ctx, c.Tenant, c.Scope)
		if errors.Is(err, errNoRecord) {
			continue // forgotten since: claim again
		}
		return e, false, err
	}
	return idempotency.Entry{}, false, errors.New("idempotency key claim kept losing to concurrent forgets")
}

// get reads a key's record.
func (s *IdempotencyStore) get(ctx context.Context, tenant, scope string) (idempotency.Entry, error) {
	var status, token, fp, doc string
	err := s.db.read().queryRow(ctx, "SELECT status, k1, k2, doc FROM records WHERE kind = ? AND parent = ? AND id = ?",
		kindIdempotency, tenant, scope).Scan(&status, &token, &fp, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return idempotency.Entry{}, errNoRecord
	}
	if err != nil {
		return idempotency.Entry{}, err
	}
	var e idempotency.Entry
	if _, err := fmt.Sscan(token, &e.Token); err != nil {
		return e, fmt.Errorf("a stored idempotency key has a bad token %q", token)
	}
	b, err := hex.DecodeString(fp)
	if err != nil || len(b) != len(e.Fingerprint) {
		return e, fmt.Errorf("a stored idempotency key has a bad fingerprint %q", fp)
	}
	copy(e.Fingerprint[:], b)
	if status == idemDone {
		var a storedAnswer
		if err := decode(doc, &a); err != nil {
			return e, err
		}
		e.Response = &idempotency.Response{Status: a.Status, Header: a.Header, Body: a.Body}
	}
	return e, nil
}

// seq is the next claim order: the real time in microseconds, strictly
// increasing in this process; replicas order by their clocks.
func (s *IdempotencyStore) seq() int64 {
	now := time.Now().UnixMicro()
	for {
		last := s.lastSeq.Load()
		next := max(now, last+1)
		if s.lastSeq.CompareAndSwap(last, next) {
			return next
		}
	}
}

// maybePrune deletes, at every pruneEvery-th new claim of the tenant in
// this process, the tenant's expired keys and those past MaxPerTenant,
// oldest first: between prunes a tenant holds at most pruneEvery keys
// more, a bound of an eighth of MaxPerTenant.
func (s *IdempotencyStore) maybePrune(ctx context.Context, c idempotency.Claim) error {
	every := int64(min(max(c.MaxPerTenant/8, 1), 32))
	v, _ := s.claims.LoadOrStore(c.Tenant, new(atomic.Int64))
	if v.(*atomic.Int64).Add(1)%every != 0 {
		return nil
	}
	return s.db.writeAlone(ctx, func(cn conn) error {
		_, err := cn.exec(ctx, `DELETE FROM records WHERE kind = ? AND parent = ? AND (at <= ? OR seq < (
			SELECT seq FROM records WHERE kind = ? AND parent = ? ORDER BY seq DESC LIMIT 1 OFFSET ?))`,
			kindIdempotency, c.Tenant, micros(c.Now.Add(-c.TTL)), kindIdempotency, c.Tenant, max(c.MaxPerTenant-1, 0))
		return err
	})
}

// Renew implements idempotency.Store.
func (s *IdempotencyStore) Renew(ctx context.Context, tenant, scope string, token int64, lease time.Time) error {
	return s.db.writeAlone(ctx, func(cn conn) error {
		_, err := cn.exec(ctx, "UPDATE records SET num = ? WHERE kind = ? AND parent = ? AND id = ? AND k1 = ? AND status = ?",
			micros(lease), kindIdempotency, tenant, scope, fmt.Sprint(token), idemRunning)
		return err
	})
}

// Complete implements idempotency.Store.
func (s *IdempotencyStore) Complete(ctx context.Context, tenant, scope string, token int64, resp idempotency.Response) error {
	doc, err := marshal(storedAnswer{Status: resp.Status, Header: resp.Header, Body: resp.Body})
	if err != nil {
		return err
	}
	return s.db.writeAlone(ctx, func(cn conn) error {
		_, err := cn.exec(ctx, "UPDATE records SET status = ?, num = 0, doc = ? WHERE kind = ? AND parent = ? AND id = ? AND k1 = ?",
			idemDone, doc, kindIdempotency, tenant, scope, fmt.Sprint(token))
		return err
	})
}

// Forget implements idempotency.Store.
func (s *IdempotencyStore) Forget(ctx context.Context, tenant, scope string, token int64) error {
	return s.db.writeAlone(ctx, func(cn conn) error {
		_, err := cn.exec(ctx, "DELETE FROM records WHERE kind = ? AND parent = ? AND id = ? AND k1 = ?",
			kindIdempotency, tenant, scope, fmt.Sprint(token))
		return err
	})
}

// Reset implements idempotency.Store.
func (s *IdempotencyStore) Reset(ctx context.Context) error {
	return s.db.writeAlone(ctx, func(cn conn) error {
		_, err := cn.exec(ctx, "DELETE FROM records WHERE kind = ?", kindIdempotency)
		return err
	})
}

// ResetTenant implements idempotency.Store.
func (s *IdempotencyStore) ResetTenant(ctx context.Context, tenant string) error {
	s.claims.Delete(tenant)
	return s.db.writeAlone(ctx, func(cn conn) error {
		_, err := cn.exec(ctx, "DELETE FROM records WHERE kind = ? AND parent = ?", kindIdempotency, tenant)
		return err
	})
}
