// Package sqlstore keeps the sandbox's state in a SQL database: an
// embedded SQLite file for one durable process (--data-dir), PostgreSQL
// for many (--database-url). It implements the Store interfaces of the
// platform, oauth, graphql and webhooks surfaces on one table of JSON
// documents with indexed key columns; each implementation passes the
// surface's storetest suite on both engines.
//
// The two engines share the SQL; a dialect holds what differs: the
// placeholders, how a write transaction serialises with the writes it
// conflicts with (a process-wide write lock and BEGIN IMMEDIATE on
// SQLite, transaction-scoped advisory locks on PostgreSQL), and which
// errors are worth a retry.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// FileName is the SQLite database's name inside a data directory.
const FileName = "sandbox.db"

// LockName is the lock file inside a data directory: one process serves a
// data directory at a time.
const LockName = "sandbox.lock"

// ErrDataDirInUse is the error of opening a data directory another
// process has open.
var ErrDataDirInUse = errors.New("in use by another sandbox process: one process serves a data directory; several processes share a sandbox through PostgreSQL (--database-url)")

// DefaultConnectTimeout bounds the wait for an unreachable database.
const DefaultConnectTimeout = 10 * time.Second

// Options choose the database: exactly one of DataDir and DatabaseURL.
type Options struct {
	// DataDir holds the SQLite database (FileName); it is created 0700
	// when missing, the database files 0600.
	DataDir string
	// DatabaseURL is a PostgreSQL connection URL (postgres://...).
	DatabaseURL string
	// ConnectTimeout bounds the wait for the database to answer
	// (DefaultConnectTimeout when zero).
	ConnectTimeout time.Duration
}

// DB is an open, migrated database. It is safe for concurrent use.
type DB struct {
	db   *sql.DB
	name string // what error messages call the database
	// url is PostgreSQL's connection URL: the stream relay listens on a
	// connection of its own (streambus.go).
	url string
	d   dialect
	// stmts caches the prepared statements by query: a store runs a few
	// dozen distinct queries, and parsing each anew cost SQLite more than
	// running it.
	stmts sync.Map // string → *sql.Stmt
	// nstmts counts stmts; missed holds the queries transactions ran
	// unprepared since the last prepareMissed.
	nstmts atomic.Int64
	missed sync.Map // string → struct{}
	// trips counts the statements sent to the database, each BEGIN and
	// COMMIT included: the round trips a request costs (RoundTrips).
	trips atomic.Int64
	// pageRows counts the rows the keyset pages read (seqPage): what a
	// page costs, checked by the tests.
	pageRows atomic.Int64
	// dirLock is the data directory's lock (SQLite), held until Close.
	dirLock *os.File
	// writer is the one connection SQLite's writes run on (nil on
	// PostgreSQL), see useWriter; writerStmts are the statements
	// prepared on it for the lone writes (writeAlone), which run outside
	// a transaction. Both are used only under the dialect's writeMu.
	writer      *sql.Conn
	writerStmts map[string]*sql.Stmt
	// analyze keeps PostgreSQL's statistics of the records table in step
	// with its first growth (analyze.go).
	analyze analyzer
	// apps remembers the decoding of app documents (appDocs).
	apps appDocs
	// auth remembers the answers of authentication reads (authCache).
	auth authCache
	// sharedSaved is told the shared version after a save of keys or
	// fault rules moved it (OnSharedSave).
	sharedSaved atomic.Pointer[func(Kind, int64)]
}

// RoundTrips is how many statements the stores have sent to the database
// so far, each BEGIN and COMMIT counted: the difference across a request
// is its cost in round trips.
func (d *DB) RoundTrips() int64 { return d.trips.Load() }

// dialect is what differs between SQLite and PostgreSQL.
type dialect struct {
	postgres bool
	// writeMu serialises a process's SQLite write transactions: SQLite
	// has one writer at a time anyway, and waiting here is cheaper than
	// polling its busy handler. BEGIN IMMEDIATE (the DSN's _txlock) still
	// guards against another process on the same file.
	writeMu *sync.Mutex
}

// Open opens the database o names, waits (up to o.ConnectTimeout) for it
// to answer and applies the migrations it lacks.
func Open(ctx context.Context, o Options) (*DB, error) {
	return open(ctx, o, SchemaVersion())
}

// open is Open migrating up to schema version upTo.
func open(ctx context.Context, o Options, upTo int) (*DB, error) {
	if (o.DataDir == "") == (o.DatabaseURL == "") {
		return nil, errors.New("sqlstore: exactly one of a data directory and a database URL is needed")
	}
	timeout := o.ConnectTimeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	var d *DB
	if o.DataDir != "" {
		var err error
		if d, err = openSQLite(o.DataDir); err != nil {
			return nil, err
		}
	} else {
		db, err := sql.Open("pgx", o.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", Redact(o.DatabaseURL), err)
		}
		// A pool per process; PostgreSQL's default max_connections is 100,
		// shared by every replica.
		db.SetMaxOpenConns(16)
		db.SetMaxIdleConns(16)
		d = &DB{db: db, name: "database " + Redact(o.DatabaseURL), url: o.DatabaseURL, d: dialect{postgres: true}}
	}
	if err := d.ping(ctx, timeout); err != nil {
		_ = d.Close()
		return nil, err
	}
	if err := d.useWriter(ctx); err != nil {
		_ = d.Close()
		return nil, err
	}
	if err := d.migrateTo(ctx, upTo); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

func openSQLite(dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	// The process's in-memory state (clocks, caches, the delivery engine's
	// timers) is kept in step with the database only on PostgreSQL.
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	// SQLite gives its -wal and -shm files the database file's mode, so
	// creating it 0600 first keeps all three private.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	_ = f.Close()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	// NORMAL: a commit survives a crash of the process (SIGKILL) but may
	// be lost with the machine's power; only checkpoints wait for the
	// disk. Checkpoints every 8,000 pages (32 MiB of WAL) instead of
	// SQLite's 1,000 keep those waits rare on slow disks.
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "wal_autocheckpoint(8000)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		unlockDir(lock)
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	return &DB{db: db, name: "database " + path, d: dialect{writeMu: &sync.Mutex{}}, dirLock: lock}, nil
}

// writerCacheKiB is the page cache of SQLite's writer connection, about
// SQLite's default: the pages of the deliveries in flight and of their
// indexes stay in it between transactions. 8 and 32 MiB measured slower
// (BenchmarkDurableDeliveries/sqlite): resetting a larger cache costs
// more than the pages it keeps save.
const writerCacheKiB = 2 << 10

// useWriter sets aside, on SQLite, the connection every write transaction
// runs on. In WAL mode a connection drops its page cache whenever another
// connection wrote since its last transaction, so writes spread over the
// pool began with an empty cache and read each page back through a
// pread (BenchmarkDurableDeliveries/sqlite spent a quarter of its CPU
// there). Writes are serialised anyway (writeMu): on one connection, each
// finds the pages the previous one left. Reads outside transactions keep
// the rest of the pool.
func (d *DB) useWriter(ctx context.Context) error {
	if d.d.postgres {
		return nil
	}
	w, err := d.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", d.name, err)
	}
	if _, err := w.ExecContext(ctx, fmt.Sprintf("PRAGMA cache_size = -%d", writerCacheKiB)); err != nil {
		_ = w.Close()
		return fmt.Errorf("%s: %w", d.name, err)
	}
	d.writer = w
	return nil
}

// ping waits for the database to answer, up to timeout.
func (d *DB) ping(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var err error
	for {
		if err = d.db.PingContext(ctx); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s unreachable after %s: %w", d.name, timeout, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Redact hides the password of a database URL, for messages and logs:
// the URL's own and a password parameter. What is not a postgres:// URL
// (a "host=… password=…" connection string) is not shown at all.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "(a connection string, not shown)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Close closes the database.
func (d *DB) Close() error {
	d.analyze.mu.Lock()
	running, done := d.analyze.running, d.analyze.done
	d.analyze.mu.Unlock()
	if running {
		<-done
	}
	d.stmts.Range(func(_, v any) bool { _ = v.(*sql.Stmt).Close(); return true })
	if d.d.writeMu != nil {
		d.d.writeMu.Lock()
		for _, st := range d.writerStmts {
			_ = st.Close()
		}
		d.d.writeMu.Unlock()
	}
	if d.writer != nil {
		_ = d.writer.Close()
	}
	err := d.db.Close()
	if d.dirLock != nil {
		unlockDir(d.dirLock)
	}
	return err
}

// Postgres reports whether d is a PostgreSQL database.
func (d *DB) Postgres() bool { return d.d.postgres }

// rebind turns the ? placeholders of query into PostgreSQL's $n.
func (dl dialect) rebind(query string) string {
	if !dl.postgres {
		return query
	}
	b := make([]byte, 0, len(query)+16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b = strconv.AppendInt(append(b, '$'), int64(n), 10)
			continue
		}
		b = append(b, query[i])
	}
	return string(b)
}

// conn runs the dialect's SQL on the database or in a transaction (tx).
type conn struct {
	db *DB
	tx *sql.Tx
	// w, outside a transaction, is SQLite's writer connection a lone
	// write runs on (writeAlone), with writeMu held.
	w *sql.Conn
	d dialect
}

// stmt returns the prepared statement of query, bound to the transaction
// when in one; nil (run the query unprepared) when a transaction meets a
// query not prepared yet. A transaction never prepares on the pool: that
// needs a second connection, and with every connection held by a
// transaction waiting for this one's lock, it would wait forever.
func (c conn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if c.w != nil {
		return c.db.writerStmt(ctx, query)
	}
	if v, ok := c.db.stmts.Load(query); ok {
		if c.tx != nil {
			return c.tx.StmtContext(ctx, v.(*sql.Stmt)), nil
		}
		return v.(*sql.Stmt), nil
	}
	if c.tx != nil {
		// Prepared after the transaction (prepareMissed), for the next.
		if len(query) <= maxPreparedLen && c.db.nstmts.Load() < maxPrepared {
			c.db.missed.Store(query, struct{}{})
		}
		return nil, nil
	}
	return c.db.prepare(ctx, query)
}

// Bounds of the statement cache: a query a transaction meets unprepared is
// prepared for the next one only while the cache holds fewer than
// maxPrepared statements and the query is at most maxPreparedLen bytes
// (multi-row statements come in many sizes; the small ones recur).
const (
	maxPrepared    = 512
	maxPreparedLen = 4096
)

// writerStmt returns query prepared on the writer connection, preparing
// it there the first time (within the statement cache's bounds; past
// them, nil: the query runs unprepared). The caller holds writeMu.
func (d *DB) writerStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := d.writerStmts[query]; ok {
		return st, nil
	}
	if len(query) > maxPreparedLen || len(d.writerStmts) >= maxPrepared {
		return nil, nil
	}
	st, err := d.writer.PrepareContext(ctx, d.d.rebind(query))
	if err != nil {
		return nil, err
	}
	if d.writerStmts == nil {
		d.writerStmts = map[string]*sql.Stmt{}
	}
	d.writerStmts[query] = st
	return st, nil
}

// unprepared is what runs a query no statement was prepared for: the
// transaction, the writer connection, or the pool.
func (c conn) unprepared() interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
} {
	switch {
	case c.tx != nil:
		return c.tx
	case c.w != nil:
		return c.w
	}
	return c.db.db
}

// prepare prepares query on the pool and caches it.
func (d *DB) prepare(ctx context.Context, query string) (*sql.Stmt, error) {
	prepared, err := d.db.PrepareContext(ctx, d.d.rebind(query))
	if err != nil {
		return nil, err
	}
	if v, loaded := d.stmts.LoadOrStore(query, prepared); loaded {
		_ = prepared.Close()
		return v.(*sql.Stmt), nil
	}
	d.nstmts.Add(1)
	return prepared, nil
}

// prepareMissed prepares the queries transactions ran unprepared, once no
// transaction of this call is open: a transaction's statements then run
// prepared from the next transaction on (SQLite parsing a statement
// anew cost more than running it).
func (d *DB) prepareMissed(ctx context.Context) {
	d.missed.Range(func(k, _ any) bool {
		d.missed.Delete(k)
		query := k.(string)
		if _, ok := d.stmts.Load(query); !ok {
			_, _ = d.prepare(ctx, query) // a failure shows when the query runs
		}
		return true
	})
}

func (c conn) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.db.trips.Add(1)
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return c.unprepared().ExecContext(ctx, c.d.rebind(query), args...)
	}
	return st.ExecContext(ctx, args...)
}

// execUnprepared is exec for a statement whose text varies with its
// arguments (a multi-row INSERT): prepared, each size would be kept.
func (c conn) execUnprepared(ctx context.Context, query string, args ...any) (sql.Result, error) {
	c.db.trips.Add(1)
	return c.unprepared().ExecContext(ctx, c.d.rebind(query), args...)
}

func (c conn) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.db.trips.Add(1)
	st, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return c.unprepared().QueryContext(ctx, c.d.rebind(query), args...)
	}
	return st.QueryContext(ctx, args...)
}

// queryRow is QueryRow: a failure to prepare shows in Scan.
func (c conn) queryRow(ctx context.Context, query string, args ...any) rowScanner {
	c.db.trips.Add(1)
	st, err := c.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	if st == nil {
		return c.unprepared().QueryRowContext(ctx, c.d.rebind(query), args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// rowScanner is a *sql.Row, or the error that kept the query from running.
type rowScanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// execDDL runs a statement without preparing it (migrations).
func (c conn) execDDL(ctx context.Context, query string, args ...any) error {
	_, err := c.tx.ExecContext(ctx, c.d.rebind(query), args...)
	return err
}

// forUpdate is the row-lock clause of a SELECT in a write transaction:
// SQLite has none (its write transaction already excludes other writers).
func (c conn) forUpdate() string {
	if c.d.postgres && c.tx != nil {
		return " FOR UPDATE"
	}
	return ""
}

// lockScope takes, on PostgreSQL, the transaction-long advisory lock of
// a scope (its argument): every transaction that takes it waits for the
// one holding it to end.
const lockScope = "SELECT pg_advisory_xact_lock(hashtextextended(?, 0))"

// lock serialises the transaction with every other that locks scope, until
// it ends. On SQLite the write transaction itself is exclusive.
func (c conn) lock(ctx context.Context, scope string) error {
	if !c.d.postgres {
		return nil
	}
	_, err := c.exec(ctx, lockScope, scope)
	return err
}

// read runs on the database outside any transaction.
func (d *DB) read() conn { return conn{db: d, d: d.d} }

// write runs fn in a write transaction after taking the locks of scopes,
// committing when it returns nil. A transaction the database aborted
// (a deadlock, a serialisation failure, a busy SQLite file) is retried,
// fn included, a few times.
func (d *DB) write(ctx context.Context, scopes []string, fn func(c conn) error) error {
	var err error
	defer d.prepareMissed(context.WithoutCancel(ctx))
	for attempt := range 8 {
		if err = d.writeOnce(ctx, scopes, fn); err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return err
}

// writeAlone runs fn, which sends one write statement, outside a
// transaction: the statement is atomic on its own, and a single round
// trip. On SQLite, where statements are calls in the process, not round
// trips, it is a transaction of write's on the writer connection (see
// useWriter): run on another connection, the statement would empty the
// writer's page cache. It is retried as write is.
func (d *DB) writeAlone(ctx context.Context, fn func(c conn) error) error {
	var err error
	for attempt := range 8 {
		err = func() error {
			if d.d.writeMu != nil {
				d.d.writeMu.Lock()
				defer d.d.writeMu.Unlock()
			}
			// On SQLite on the writer connection, outside a transaction:
			// one statement commits by itself, without a BEGIN and a
			// COMMIT of its own.
			return fn(conn{db: d, w: d.writer, d: d.d})
		}()
		if err == nil || !retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return err
}

func (d *DB) writeOnce(ctx context.Context, scopes []string, fn func(c conn) error) (err error) {
	if d.d.writeMu != nil {
		d.d.writeMu.Lock()
		defer d.d.writeMu.Unlock()
	}
	d.trips.Add(2) // BEGIN, and COMMIT or ROLLBACK
	begin := d.db.BeginTx
	if d.writer != nil {
		begin = d.writer.BeginTx
	}
	tx, err := begin(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", d.name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	c := conn{db: d, tx: tx, d: d.d}
	for _, s := range scopes {
		if err = c.lock(ctx, s); err != nil {
			return err
		}
	}
	if err = fn(c); err != nil {
		return err
	}
	return tx.Commit()
}

// retryable reports an error after which the same transaction may succeed.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40001" || pe.Code == "40P01" // serialization_failure, deadlock_detected
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()&0xff == sqlite3.SQLITE_BUSY
	}
	return false
}
