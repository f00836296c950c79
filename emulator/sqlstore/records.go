package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Record kinds: the kind column of records.
const (
	kindApp         = "app"
	kindAudit       = "audit"
	kindRequest     = "access_request"
	kindEnvironment = "environment"
	kindCode        = "oauth_code"
	kindGrant       = "oauth_grant"
	kindRefresh     = "oauth_refresh"
	kindAccess      = "oauth_access"
	kindCase        = "case"
	kindWebhook     = "webhook"
	kindDelivery    = "delivery"
)

// errNoRecord is a lookup that found nothing; each store maps it to its
// surface's ErrNotFound.
var errNoRecord = errors.New("no such record")

// row is one record with its key columns.
type row struct {
	kind, parent, id, tenant string
	alt                      sql.NullString
	seq                      int64
	status, k1, k2           string
	at, num                  int64
	doc                      any // marshalled to JSON
}

// micros is t in Unix microseconds, the at column's unit.
func micros(t time.Time) int64 { return t.UnixMicro() }

// insert stores r unless a record with its key or its alt exists; ok is
// false then. ON CONFLICT DO NOTHING makes the check and the insert one
// statement, so concurrent creators of one key cannot both succeed.
func (c conn) insert(ctx context.Context, r row) (ok bool, err error) {
	doc, err := json.Marshal(r.doc)
	if err != nil {
		return false, err
	}
	res, err := c.exec(ctx, `INSERT INTO records (kind, parent, id, tenant, alt, seq, status, k1, k2, at, num, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		r.kind, r.parent, r.id, r.tenant, r.alt, r.seq, r.status, r.k1, r.k2, r.at, r.num, string(doc))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// replace rewrites the document and the mutable columns of a record.
func (c conn) replace(ctx context.Context, r row) error {
	doc, err := json.Marshal(r.doc)
	if err != nil {
		return err
	}
	_, err = c.exec(ctx, `UPDATE records SET status = ?, k1 = ?, k2 = ?, at = ?, num = ?, doc = ?
		WHERE kind = ? AND parent = ? AND id = ?`,
		r.status, r.k1, r.k2, r.at, r.num, string(doc), r.kind, r.parent, r.id)
	return err
}

// remove deletes a record; ok is false when there was none.
func (c conn) remove(ctx context.Context, kind, parent, id string) (ok bool, err error) {
	res, err := c.exec(ctx, "DELETE FROM records WHERE kind = ? AND parent = ? AND id = ?", kind, parent, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// get decodes the record (kind, parent, id) into v and returns its
// tenant, locking its row inside a write transaction.
func (c conn) get(ctx context.Context, v any, kind, parent, id string) (tenant string, err error) {
	var doc string
	err = c.queryRow(ctx, "SELECT tenant, doc FROM records WHERE kind = ? AND parent = ? AND id = ?"+c.forUpdate(),
		kind, parent, id).Scan(&tenant, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNoRecord
	}
	if err != nil {
		return "", err
	}
	return tenant, decode(doc, v)
}

// getTenant is get for a tenant-scoped record: another tenant's is
// errNoRecord.
func (c conn) getTenant(ctx context.Context, v any, kind, parent, tenant, id string) error {
	var doc string
	err := c.queryRow(ctx, "SELECT doc FROM records WHERE kind = ? AND parent = ? AND id = ? AND tenant = ?"+c.forUpdate(),
		kind, parent, id, tenant).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return errNoRecord
	}
	if err != nil {
		return err
	}
	return decode(doc, v)
}

// count counts the records of kind in tenant.
func (c conn) count(ctx context.Context, kind, tenant string) (int, error) {
	var n int
	err := c.queryRow(ctx, "SELECT COUNT(*) FROM records WHERE kind = ? AND tenant = ?", kind, tenant).Scan(&n)
	return n, err
}

// next hands out the next number of the counter name (1 first). On
// PostgreSQL the upsert also locks the counter's row until the
// transaction ends.
func (c conn) next(ctx context.Context, name string) (int64, error) {
	return c.nextN(ctx, name, 1)
}

// nextN hands out the next k numbers of the counter name in one statement
// and returns the last of them (the first is last-k+1).
func (c conn) nextN(ctx context.Context, name string, k int) (int64, error) {
	var n int64
	err := c.queryRow(ctx, `INSERT INTO counters (name, n) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET n = counters.n + ? RETURNING n`, name, k, k).Scan(&n)
	return n, err
}

// list decodes the documents a query returns, in its order.
func list[T any](ctx context.Context, c conn, query string, args ...any) ([]T, error) {
	rows, err := c.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var v T
		if err := decode(doc, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func decode(doc string, v any) error {
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return fmt.Errorf("a stored record does not decode: %w", err)
	}
	return nil
}

// Seeded reports whether the fixtures were seeded into the database.
func (d *DB) Seeded(ctx context.Context) (bool, error) {
	var v string
	err := d.read().queryRow(ctx, "SELECT value FROM meta WHERE key = 'seeded'").Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// MarkSeeded records that the fixtures were seeded, so later starts keep
// what is stored.
func (d *DB) MarkSeeded(ctx context.Context) error {
	return d.write(ctx, nil, func(c conn) error {
		_, err := c.exec(ctx, `INSERT INTO meta (key, value) VALUES ('seeded', 'fixtures')
			ON CONFLICT (key) DO NOTHING`)
		return err
	})
}

// marshal is v as the JSON text of a doc column.
func marshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
