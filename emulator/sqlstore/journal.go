package sqlstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/knogin/argus-sandbox/emulator/journal"
)

// Defaults of JournalOptions.
const (
	DefaultJournalFlush      = 50 * time.Millisecond
	DefaultJournalBatch      = 64
	DefaultJournalMaxPending = 10000
)

// journalChunk bounds the rows of one INSERT, so that one statement's
// arrays stay a few hundred kilobytes.
const journalChunk = 500

// journalFlushTimeout bounds one background flush.
const journalFlushTimeout = 10 * time.Second

// JournalOptions configure a JournalStore.
type JournalOptions struct {
	// Size is how many entries each tenant keeps (journal.DefaultSize
	// when zero).
	Size int
	// FlushEvery is how long an entry waits for others to share its
	// write (DefaultJournalFlush when zero); Batch entries pending
	// (DefaultJournalBatch) write at once.
	FlushEvery time.Duration
	Batch      int
	// ReadWait is how long after it began a read of the newest entries
	// runs (2 × FlushEvery when zero): long enough for another replica to
	// have written what it served before the read began, so a client that
	// made a request on one replica and reads the journal on another
	// finds it. A read of a later page (a cursor) does not wait.
	ReadWait time.Duration
	// MaxPending bounds the entries waiting to be written
	// (DefaultJournalMaxPending): past it, new ones are dropped, counted
	// and logged, so a slow database never holds up a request.
	MaxPending int
	// Logger reports dropped entries and failed writes.
	Logger *slog.Logger
}

// JournalStore is the request journal of replicas that share a
// PostgreSQL database: each replica queues the entries it records and
// writes them in batches, one multi-row INSERT, off the request path; a
// read writes the replica's queue first, so a client sees its own
// requests on the replica that served them at once, and waits ReadWait
// from its start before it reads the newest entries, so what another
// replica served before the read began is written by then (that
// replica's FlushEvery and its write). The table's identity column numbers the
// entries: numbers are taken at the INSERT, so an entry written after a
// read committed is numbered above everything that read saw. Each write
// prunes the tenants it wrote to their newest Size entries.
type JournalStore struct {
	db  *DB
	o   JournalOptions
	log *slog.Logger

	mu      sync.Mutex
	pending []journal.Entry
	drops   dropLog
	dropped atomic.Int64

	// flushMu orders the writes of the queue with each other and with
	// Clear, so a clear never races an entry it forgot.
	flushMu sync.Mutex
	// floors is, by tenant, how far this replica's prunes have gone:
	// under flushMu.
	floors  map[string]*pruneFloor
	wake    chan struct{}
	full    chan struct{}
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

var _ journal.Store = (*JournalStore)(nil)

// Journal returns the database's request journal and starts its writer;
// Close stops it, writing what is queued. Only PostgreSQL keeps one: a
// SQLite sandbox is one process, whose journal stays in memory.
func (d *DB) Journal(o JournalOptions) (*JournalStore, error) {
	if !d.d.postgres {
		return nil, fmt.Errorf("%s: a shared request journal needs PostgreSQL", d.name)
	}
	if o.Size <= 0 {
		o.Size = journal.DefaultSize
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = DefaultJournalFlush
	}
	if o.ReadWait <= 0 {
		o.ReadWait = 2 * o.FlushEvery
	}
	if o.Batch <= 0 {
		o.Batch = DefaultJournalBatch
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultJournalMaxPending
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &JournalStore{db: d, o: o, log: o.Logger, wake: make(chan struct{}, 1), full: make(chan struct{}, 1),
		done: make(chan struct{}), stopped: make(chan struct{})}
	go s.run()
	return s, nil
}

// journalSequence makes the journal's seq an identity column on
// PostgreSQL (migration 5): one sequence for every replica.
func journalSequence(ctx context.Context, c conn) error {
	if !c.d.postgres {
		return nil
	}
	return c.execDDL(ctx, "ALTER TABLE journal ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY")
}

// Numbers is true: the database's sequence numbers the entries.
func (s *JournalStore) Numbers() bool { return true }

// Dropped is how many entries were dropped because too many were queued.
func (s *JournalStore) Dropped() int64 { return s.dropped.Load() }

// Append queues e for the writer. It never waits for the database.
func (s *JournalStore) Append(e journal.Entry) {
	s.mu.Lock()
	if len(s.pending) >= s.o.MaxPending {
		n, warn := s.drops.add()
		s.mu.Unlock()
		s.dropped.Add(1)
		if warn {
			s.log.Warn("request journal entries dropped: the database is not keeping up", "dropped", n, "pending", s.o.MaxPending)
		}
		return
	}
	s.pending = append(s.pending, e)
	n := len(s.pending)
	s.mu.Unlock()
	switch n {
	case 1:
		signal(s.wake)
	case s.o.Batch:
		signal(s.full)
	}
}

// dropLog spaces out the warnings of a queue that drops what it cannot
// hold: at most one a second, counting the drops since the last. Its
// owner's mutex guards it.
type dropLog struct {
	unlogged int
	warned   time.Time
}

// add counts a drop and reports whether to warn now, with the drops the
// warning covers.
func (l *dropLog) add() (n int, warn bool) {
	l.unlogged++
	n, warn = l.unlogged, time.Since(l.warned) >= time.Second
	if warn {
		l.unlogged, l.warned = 0, time.Now()
	}
	return n, warn
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// run writes the queue FlushEvery after its first entry came, or as soon
// as Batch are queued.
func (s *JournalStore) run() {
	defer close(s.stopped)
	for {
		select {
		case <-s.wake:
		case <-s.full:
		case <-s.done:
			return
		}
		t := time.NewTimer(s.o.FlushEvery)
		select {
		case <-t.C:
		case <-s.full:
		case <-s.done:
		}
		t.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), journalFlushTimeout)
		if err := s.flush(ctx); err != nil {
			s.log.Warn("writing the request journal failed; retried with the next entries", "err", err)
		}
		cancel()
	}
}

// Close stops the writer and writes what is queued.
func (s *JournalStore) Close() error {
	var err error
	s.once.Do(func() {
		close(s.done)
		<-s.stopped
		ctx, cancel := context.WithTimeout(context.Background(), journalFlushTimeout)
		defer cancel()
		err = s.flush(ctx)
	})
	return err
}

// flush writes the queued entries. Entries a failed write could not keep
// go back to the front of the queue, as far as it has room.
func (s *JournalStore) flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	batch := s.pending
	s.pending = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	written, err := s.write(ctx, batch)
	if err != nil {
		rest := batch[written:]
		s.mu.Lock()
		room := max(s.o.MaxPending-len(s.pending), 0)
		lost := max(len(rest)-room, 0)
		s.pending = append(rest[lost:len(rest):len(rest)], s.pending...)
		s.mu.Unlock()
		s.dropped.Add(int64(lost))
	}
	return err
}

// journalInsert appends rows given as one array a column: the text of
// the statement does not change with the rows, so it is prepared once per
// connection. The rows go in in the arrays' order (ORDER BY their
// ordinality), which the identity column numbers them in.
const journalInsert = `INSERT INTO journal (tenant, at, operation, client_id, status, request_id, doc)
	SELECT t, a, o, c, s, r, d
	FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::text[])
		WITH ORDINALITY AS x (t, a, o, c, s, r, d, n)
	ORDER BY n`

// write inserts batch in order, journalChunk rows a statement, then prunes
// the tenants it wrote to; it returns how many entries it inserted.
func (s *JournalStore) write(ctx context.Context, batch []journal.Entry) (int, error) {
	tenants := map[string]struct{}{}
	written := 0
	var doc bytes.Buffer
	enc := json.NewEncoder(&doc)
	for len(batch) > written {
		chunk := batch[written:min(written+journalChunk, len(batch))]
		n := len(chunk)
		tenant, op, client, reqID, docs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		at, status := make([]int64, n), make([]int32, n)
		for i := range chunk {
			e := chunk[i]
			e.Seq = 0
			doc.Reset()
			if err := enc.Encode(&e); err != nil {
				return written, err
			}
			docs[i] = string(bytes.TrimSuffix(doc.Bytes(), []byte("\n")))
			tenant[i], at[i], op[i], client[i], status[i], reqID[i] = e.Tenant, e.Time.UnixNano(), e.Operation, e.Auth.ClientID, int32(e.Status), e.RequestID
			tenants[e.Tenant] = struct{}{}
		}
		if err := s.execQueued(ctx, journalInsert, tenant, at, op, client, status, reqID, docs); err != nil {
			return written, fmt.Errorf("%s: journal: %w", s.db.name, err)
		}
		written += n
	}
	return written, s.prune(ctx, tenants)
}

// journalFullPrune: every this many prunes of a tenant, the prune looks
// below the floor it remembers too.
const journalFullPrune = 64

// prune keeps the newest Size entries of each of tenants: it deletes
// those at or below the tenant's (Size+1)-th newest seq, found on the
// (tenant, seq) index; a tenant with fewer has none to find.
//
// The table churns (every entry written past Size deletes one), so
// between two autovacuums it holds far more dead rows than live ones and
// its statistics see one tenant owning every row. The planner then takes
// a scan of the whole table and a sort for the (Size+1)-th newest, which
// costs milliseconds a prune. The prune therefore runs with sequential
// and bitmap scans off (SET LOCAL, its transaction only), and deletes
// only above the floor this replica last pruned the tenant to, not
// through the dead index entries below it. A row below that floor can
// outlive a prune only if it committed after it (another replica's
// write); every journalFullPrune-th prune of a tenant starts from the
// bottom.
func (s *JournalStore) prune(ctx context.Context, tenants map[string]struct{}) error {
	if s.floors == nil {
		s.floors = map[string]*pruneFloor{}
	}
	var q strings.Builder
	q.WriteString(`WITH d AS (DELETE FROM journal j USING (
		SELECT t.tenant, t.low, (SELECT seq FROM journal WHERE tenant = t.tenant ORDER BY seq DESC LIMIT 1 OFFSET $1) AS floor
		FROM (VALUES `)
	args := []any{s.o.Size}
	for t := range tenants {
		f := s.floors[t]
		if f == nil {
			f = &pruneFloor{}
			s.floors[t] = f
		}
		low := f.seq
		if (f.prunes+1)%journalFullPrune == 0 {
			low = 0
		}
		if len(args) > 1 {
			q.WriteByte(',')
		}
		n := len(args)
		q.WriteString("($" + strconv.Itoa(n+1) + "::text, $" + strconv.Itoa(n+2) + "::bigint)")
		args = append(args, t, low)
	}
	q.WriteString(`) AS t (tenant, low)) f
		WHERE j.tenant = f.tenant AND j.seq > f.low AND j.seq <= f.floor
		RETURNING j.tenant, j.seq)
		SELECT tenant, max(seq) FROM d GROUP BY tenant`)
	err := s.pruneTx(ctx, q.String(), args)
	if err != nil {
		return fmt.Errorf("%s: journal: prune: %w", s.db.name, err)
	}
	// Counted once done: a failed prune from the bottom is made again
	// at the next.
	for t := range tenants {
		s.floors[t].prunes++
	}
	return nil
}

// pruneFloor is how far a replica's prunes of one tenant have gone: the
// newest seq they deleted, and how many ran.
type pruneFloor struct {
	seq    int64
	prunes int
}

// pruneTx runs the prune query in a transaction whose planner uses the
// indexes, and remembers each tenant's new floor once it commits.
func (s *JournalStore) pruneTx(ctx context.Context, query string, args []any) error {
	tx, err := s.db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, "SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true)"); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	floors := map[string]int64{}
	for rows.Next() {
		var tenant string
		var floor int64
		if err := rows.Scan(&tenant, &floor); err != nil {
			rows.Close()
			return err
		}
		floors[tenant] = floor
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	for t, seq := range floors {
		if f := s.floors[t]; f != nil {
			f.seq = max(f.seq, seq)
		}
	}
	return nil
}

// execQueued runs a write of the queue, in PostgreSQL's syntax, uncounted
// by RoundTrips: the writer runs beside the requests, and what it sends
// is no request's cost.
func (s *JournalStore) execQueued(ctx context.Context, query string, args ...any) error {
	_, err := s.db.db.ExecContext(ctx, query, args...)
	return err
}

// Entries writes this replica's queue, waits out ReadWait for the
// newest entries, then reads the database.
func (s *JournalStore) Entries(ctx context.Context, f journal.Filter, before uint64, n int) ([]journal.Entry, error) {
	start := time.Now()
	if err := s.flush(ctx); err != nil {
		return nil, err
	}
	if before == math.MaxUint64 {
		t := time.NewTimer(s.o.ReadWait - time.Since(start))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	q := "SELECT seq, doc FROM journal WHERE seq < ?"
	args := []any{int64(min(before, math.MaxInt64))}
	for _, c := range []struct {
		on     bool
		clause string
		args   []any
	}{
		{f.Tenant != "", " AND tenant = ?", []any{f.Tenant}},
		{f.Operation != "", " AND operation = ?", []any{f.Operation}},
		{f.ClientID != "", " AND client_id = ?", []any{f.ClientID}},
		{f.StatusMin != 0, " AND status BETWEEN ? AND ?", []any{f.StatusMin, f.StatusMax}},
		{!f.Since.IsZero(), " AND at >= ?", []any{f.Since.UnixNano()}},
		{f.RequestID != "", " AND request_id = ?", []any{f.RequestID}},
	} {
		if c.on {
			q += c.clause
			args = append(args, c.args...)
		}
	}
	q += " ORDER BY seq DESC LIMIT ?"
	args = append(args, n)
	rows, err := s.db.read().query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: journal: %w", s.db.name, err)
	}
	defer rows.Close()
	out := []journal.Entry{}
	for rows.Next() {
		var seq int64
		var doc string
		if err := rows.Scan(&seq, &doc); err != nil {
			return nil, err
		}
		var e journal.Entry
		if err := json.Unmarshal([]byte(doc), &e); err != nil {
			return nil, fmt.Errorf("%s: journal entry %d: %w", s.db.name, seq, err)
		}
		e.Seq = uint64(seq)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Clear forgets the entries of tenant (every tenant when empty), the
// queued ones with those written.
func (s *JournalStore) Clear(ctx context.Context, tenant string) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.mu.Lock()
	kept := s.pending[:0]
	for _, e := range s.pending {
		if tenant != "" && e.Tenant != tenant {
			kept = append(kept, e)
		}
	}
	clear(s.pending[len(kept):])
	s.pending = kept
	s.mu.Unlock()
	if tenant == "" {
		clear(s.floors)
	} else {
		delete(s.floors, tenant)
	}
	q, args := "DELETE FROM journal", []any(nil)
	if tenant != "" {
		q, args = "DELETE FROM journal WHERE tenant = ?", []any{tenant}
	}
	if _, err := s.db.read().exec(ctx, q, args...); err != nil {
		return fmt.Errorf("%s: journal: clear: %w", s.db.name, err)
	}
	return nil
}
