package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// kindClock is a virtual clock's position (id: its tenant, "" for the
// sandbox clock).
const kindClock = "clock"

// sharedCounter counts the changes of what each replica keeps in memory
// between requests, the clocks, the tenants, the signing keys and the
// fault rules: a replica that has seen version n has nothing to reload
// while the counter stays at n.
const sharedCounter = "shared"

// saveMeta replaces a meta row. On PostgreSQL, where replicas share the
// database, it moves the shared version in the same statement and hands
// the new version to the hook set by OnSharedSave; on SQLite, one
// process's alone, it only writes the row.
func (d *DB) saveMeta(ctx context.Context, key, value string) error {
	if !d.Postgres() {
		_, err := d.read().exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	}
	var version int64
	err := d.read().queryRow(ctx, `WITH saved AS (INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value)
		INSERT INTO counters (name, n) VALUES (?, 1)
			ON CONFLICT (name) DO UPDATE SET n = counters.n + 1 RETURNING n`, key, value, sharedCounter).Scan(&version)
	if err != nil {
		return err
	}
	if hook := d.sharedSaved.Load(); hook != nil {
		(*hook)(version)
	}
	return nil
}

// OnSharedSave sets the function told the shared version after each save
// of the signing keys or the fault rules that moved it (on PostgreSQL):
// the process that saved holds the change already, and need not reload
// it when no other change came between.
func (d *DB) OnSharedSave(fn func(version int64)) { d.sharedSaved.Store(&fn) }

// ClockStore keeps the virtual clocks' positions.
type ClockStore struct {
	db *DB
}

// Clocks returns the ClockStore of d.
func (d *DB) Clocks() *ClockStore { return &ClockStore{db: d} }

// SaveClock stores the position of the tenant's clock ("" the sandbox
// clock) and returns the shared version after the change.
func (s *ClockStore) SaveClock(ctx context.Context, tenant string, p core.ClockPos) (int64, error) {
	var version int64
	err := s.db.write(ctx, []string{"clock:" + tenant}, func(c conn) error {
		doc, err := marshal(p)
		if err != nil {
			return err
		}
		if _, err := c.exec(ctx, `INSERT INTO records (kind, parent, id, tenant, doc) VALUES (?, '', ?, ?, ?)
			ON CONFLICT (kind, parent, id) DO UPDATE SET doc = excluded.doc`, kindClock, tenant, tenant, doc); err != nil {
			return err
		}
		version, err = c.next(ctx, sharedCounter)
		return err
	})
	return version, err
}

// DeleteClock forgets the tenant's clock (the tenant was deleted).
func (s *ClockStore) DeleteClock(ctx context.Context, tenant string) error {
	return s.db.write(ctx, []string{"clock:" + tenant}, func(c conn) error {
		if _, err := c.remove(ctx, kindClock, "", tenant); err != nil {
			return err
		}
		_, err := c.next(ctx, sharedCounter)
		return err
	})
}

// SharedVersion is the version of what replicas keep in memory: it grows
// with every change of a clock or a tenant, and on PostgreSQL with every
// save of the signing keys or the fault rules.
func (d *DB) SharedVersion(ctx context.Context) (int64, error) {
	var n int64
	err := d.read().queryRow(ctx, "SELECT n FROM counters WHERE name = ?", sharedCounter).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// LoadClocks returns every stored clock's position by tenant, and the
// shared version read before them (so a change made meanwhile shows as a
// newer version at the next SharedVersion).
func (s *ClockStore) LoadClocks(ctx context.Context) (map[string]core.ClockPos, int64, error) {
	version, err := s.db.SharedVersion(ctx)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.db.read().query(ctx, "SELECT id, doc FROM records WHERE kind = ?", kindClock)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := map[string]core.ClockPos{}
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, 0, err
		}
		var p core.ClockPos
		if err := decode(doc, &p); err != nil {
			return nil, 0, err
		}
		out[id] = p
	}
	return out, version, rows.Err()
}
