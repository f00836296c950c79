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

// The shared versions count the changes of what each replica keeps in
// memory between requests, one counter per kind, so a replica reloads
// only the kind that changed: stateCounter the clocks and the tenants,
// keysCounter the signing keys, faultsCounter the fault rules. A replica
// that has seen version n of a kind has nothing of it to reload while the
// counter stays at n.
const (
	stateCounter  = "shared"
	keysCounter   = "shared_keys"
	faultsCounter = "shared_faults"
)

// Kind names one of the shared versions, for OnSharedSave.
type Kind int

// The kinds of Versions a save of keys or fault rules moves.
const (
	KindKeys Kind = iota + 1
	KindFaults
)

// Versions are the shared versions of what replicas keep in memory.
type Versions struct {
	// State moves with every change of a clock or a tenant.
	State int64
	// Keys and Faults move, on PostgreSQL, with every save of the signing
	// keys and of the fault rule set (not with a rule's counters).
	Keys, Faults int64
	// Auth moves, on PostgreSQL, with every write that can change what a
	// request's authentication reads (see authCounter); the DB itself
	// follows it.
	Auth int64
}

// saveMeta replaces a meta row. On PostgreSQL, where replicas share the
// database, it moves kind's version in the same statement and hands the
// new version to the hook set by OnSharedSave; on SQLite, one process's
// alone, it only writes the row.
func (d *DB) saveMeta(ctx context.Context, kind Kind, key, value string) error {
	if !d.Postgres() {
		_, err := d.read().exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
		return err
	}
	var version int64
	err := d.read().queryRow(ctx, `WITH saved AS (INSERT INTO meta (key, value) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value)
		INSERT INTO counters (name, n) VALUES (?, 1)
			ON CONFLICT (name) DO UPDATE SET n = counters.n + 1 RETURNING n`, key, value, kind.counter()).Scan(&version)
	if err != nil {
		return err
	}
	d.tellSaved(kind, version)
	return nil
}

// swapMeta replaces the meta row key with next when it holds prev (nil:
// when there is none) and reports whether it did; cleanup, when set, runs
// in the same transaction after a swap. On PostgreSQL a swap moves kind's
// version and hands it to the OnSharedSave hook.
func (d *DB) swapMeta(ctx context.Context, kind Kind, key string, prev, next []byte, cleanup func(c conn) error) (bool, error) {
	var (
		swapped bool
		version int64
	)
	err := d.write(ctx, nil, func(c conn) error {
		swapped = false
		var res sql.Result
		var err error
		if prev == nil {
			res, err = c.exec(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, string(next))
		} else {
			// On PostgreSQL the row lock makes a concurrent swap wait and
			// then test the value it committed.
			res, err = c.exec(ctx, "UPDATE meta SET value = ? WHERE key = ? AND value = ?", string(next), key, string(prev))
		}
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return err
		}
		if cleanup != nil {
			if err := cleanup(c); err != nil {
				return err
			}
		}
		if d.Postgres() {
			if version, err = c.next(ctx, kind.counter()); err != nil {
				return err
			}
		}
		swapped = true
		return nil
	})
	if err != nil || !swapped {
		return false, err
	}
	if d.Postgres() {
		d.tellSaved(kind, version)
	}
	return true, nil
}

func (k Kind) counter() string {
	if k == KindKeys {
		return keysCounter
	}
	return faultsCounter
}

func (d *DB) tellSaved(kind Kind, version int64) {
	if hook := d.sharedSaved.Load(); hook != nil {
		(*hook)(kind, version)
	}
}

// OnSharedSave sets the function told kind's version after each save of
// the signing keys or the fault rules that moved it (on PostgreSQL): the
// process that saved holds the change already, and need not reload it
// when no other change came between.
func (d *DB) OnSharedSave(fn func(kind Kind, version int64)) { d.sharedSaved.Store(&fn) }

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
		version, err = c.next(ctx, stateCounter)
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
		_, err := c.next(ctx, stateCounter)
		return err
	})
}

// Versions reads the shared versions in one statement, each counter a
// primary-key lookup: State grows with every change of a clock or a
// tenant, and on PostgreSQL Keys and Faults with every save of the
// signing keys and of the fault rules, Auth with every write that can
// change what the DB's authentication reads remember (authCache). The
// DB follows Auth itself: a remembered answer read before a higher Auth
// is not given again, and after a failed read none is until a read
// succeeds.
func (d *DB) Versions(ctx context.Context) (Versions, error) {
	var v Versions
	err := d.read().queryRow(ctx, `SELECT
		COALESCE((SELECT n FROM counters WHERE name = ?), 0),
		COALESCE((SELECT n FROM counters WHERE name = ?), 0),
		COALESCE((SELECT n FROM counters WHERE name = ?), 0),
		COALESCE((SELECT n FROM counters WHERE name = ?), 0)`,
		stateCounter, keysCounter, faultsCounter, authCounter).Scan(&v.State, &v.Keys, &v.Faults, &v.Auth)
	if err != nil {
		d.auth.moved()
		return v, err
	}
	d.auth.saw(v.Auth)
	return v, nil
}

// SharedVersion is the version of the clocks and the tenants (State of
// Versions): it grows with every change of a clock or a tenant.
func (d *DB) SharedVersion(ctx context.Context) (int64, error) {
	var n int64
	err := d.read().queryRow(ctx, "SELECT n FROM counters WHERE name = ?", stateCounter).Scan(&n)
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
