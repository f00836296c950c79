package sqlstore

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
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
	DefaultJournalBatch      = journalChunk
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
// writes them in batches off the request path, each tenant's share of a
// batch as one row (a page: the entries' documents, one a line), so the
// database takes a row per tenant and write, not per request; a
// read writes the replica's queue first, so a client sees its own
// requests on the replica that served them at once, and waits ReadWait
// from its start before it reads the newest entries, so what another
// replica served before the read began is written by then (that
// replica's FlushEvery and its write). The table's identity column numbers the
// pages, and a page's entries are numbered within its number: numbers are
// taken at the INSERT, so an entry written after a read committed is
// numbered above everything that read saw. Each write prunes the tenants
// it wrote to their newest Size entries.
type JournalStore struct {
	db  *DB
	o   JournalOptions
	log *slog.Logger

	mu      sync.Mutex
	pending []journal.Entry
	// spare is the queue's other array: a write's batch, emptied, becomes
	// the next queue, so a steady load appends without growing one.
	spare   []journal.Entry
	drops   dropLog
	dropped atomic.Int64

	// flushMu orders the writes of the queue with each other and with
	// Clear, so a clear never races an entry it forgot. It guards buf,
	// where writes encode their pages.
	flushMu sync.Mutex
	buf     []byte
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

// journalToPages moves the journal into pages (migration 6). On
// PostgreSQL the writes' numbers come from the sequence journal_writes;
// the entries kept go into pages that keep their numbers (an entry
// numbered s goes to write s >> 10, at place s & 1023, with the other
// entries of its tenant there), so a cursor read before the migration
// still points where it did, and the sequence starts past them. Pages are
// stored uncompressed: a page is written once and soon pruned. SQLite's
// table was empty.
func journalToPages(ctx context.Context, c conn) error {
	if c.d.postgres {
		for _, q := range []string{
			"CREATE SEQUENCE journal_writes",
			"SELECT setval('journal_writes', COALESCE((SELECT MAX(seq) FROM journal) >> 10, 0) + 1, false)",
			"ALTER TABLE journal_pages ALTER COLUMN docs SET STORAGE EXTERNAL",
			`INSERT INTO journal_pages (write, tenant, trimmed, n, docs)
				SELECT seq >> 10, tenant, 0, COUNT(*), string_agg((seq & 1023)::text || ' ' || doc, chr(10) ORDER BY seq)
				FROM journal GROUP BY seq >> 10, tenant`,
		} {
			if err := c.execDDL(ctx, q); err != nil {
				return err
			}
		}
	}
	return c.execDDL(ctx, "DROP TABLE journal")
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
	s.pending, s.spare = s.spare, nil
	s.mu.Unlock()
	if len(batch) > 0 {
		written, err := s.write(ctx, batch)
		if err != nil {
			rest := batch[written:]
			s.mu.Lock()
			room := max(s.o.MaxPending-len(s.pending), 0)
			lost := max(len(rest)-room, 0)
			s.pending = append(rest[lost:len(rest):len(rest)], s.pending...)
			s.mu.Unlock()
			s.dropped.Add(int64(lost))
			return err
		}
	}
	clear(batch)
	s.mu.Lock()
	s.spare = batch[:0]
	s.mu.Unlock()
	return nil
}

// journalWriteBits: an entry's number is its write's number (the
// sequence journal_writes) shifted left by journalWriteBits, plus its
// place in the write, below journalChunk < 1 << journalWriteBits.
const journalWriteBits = 10

// journalInsert stores one write's pages, given as one array a column:
// the text of the statement does not change with the pages, so it is
// prepared once per connection. The write's number is taken once, at the
// INSERT, for all of its pages.
const journalInsert = `INSERT INTO journal_pages (write, tenant, trimmed, n, docs)
	SELECT w.v, x.t, 0, x.n, x.d
	FROM (SELECT nextval('journal_writes') AS v) w,
		unnest($1::text[], $2::integer[], $3::text[]) AS x (t, n, d)`

// write inserts batch, journalChunk entries a write (a page of each
// tenant among them: the tenant's entries one a line, its place in the
// write, a space and its JSON document), then prunes the tenants it wrote
// to; it returns how many entries it inserted. It numbers nothing itself,
// so it clears the entries' Seq.
func (s *JournalStore) write(ctx context.Context, batch []journal.Entry) (int, error) {
	tenants := map[string]struct{}{}
	written := 0
	for len(batch) > written {
		chunk := batch[written:min(written+journalChunk, len(batch))]
		// The chunk's tenants in the order they first came, each with
		// the places of its entries.
		var order []string
		places := map[string][]int{}
		for i := range chunk {
			t := chunk[i].Tenant
			if _, ok := places[t]; !ok {
				order = append(order, t)
			}
			places[t] = append(places[t], i)
		}
		var tenant, docs []string
		var n []int32
		for _, t := range order {
			b, lines := s.buf[:0], int32(0)
			for _, i := range places[t] {
				mark := len(b)
				if lines > 0 {
					b = append(b, '\n')
				}
				b = append(strconv.AppendInt(b, int64(i), 10), ' ')
				chunk[i].Seq = 0
				var err error
				if b, err = chunk[i].AppendJSON(b); err != nil {
					// JSON cannot carry it (a time past year 9999): it
					// would fail every write that held it.
					b = b[:mark]
					s.dropped.Add(1)
					s.log.Warn("a request journal entry was dropped", "request_id", chunk[i].RequestID, "err", err)
					continue
				}
				lines++
			}
			s.buf = b
			if lines > 0 {
				tenant, n, docs = append(tenant, t), append(n, lines), append(docs, string(b))
				tenants[t] = struct{}{}
			}
		}
		if len(tenant) > 0 {
			if err := s.execQueued(ctx, journalInsert, tenant, n, docs); err != nil {
				return written, fmt.Errorf("%s: journal: %w", s.db.name, err)
			}
		}
		written += len(chunk)
	}
	return written, s.prune(ctx, tenants)
}

// journalPrune keeps the newest $2 entries of each tenant in $1. A page
// keeps its lines as written; trimmed counts those cut from its start,
// which reads skip. newer is, for each page, how many entries it and the
// tenant's newer pages keep: a page with $2 or more above it goes, and
// the page the bound falls in has its oldest cut by moving trimmed, an
// update of the row without its documents.
//
// The cut is stated as where the page must start, not as how many lines
// to cut now, and only ever moves forward, so a prune never cuts more
// than its bound even if it ran beside another (prunes take
// journalPruneLock, so they do not). A prune whose snapshot misses a
// page committed meanwhile counts fewer newer entries and keeps more,
// never fewer; the next prune takes the rest.
const journalPrune = `WITH c AS (
		SELECT tenant, write, trimmed, n - trimmed AS kept,
			sum(n - trimmed) OVER (PARTITION BY tenant ORDER BY write DESC) AS newer
		FROM journal_pages WHERE tenant = ANY($1::text[])
	), d AS (
		DELETE FROM journal_pages j USING c
		WHERE j.tenant = c.tenant AND j.write = c.write AND c.newer - c.kept >= $2
	)
	UPDATE journal_pages j SET trimmed = c.trimmed + c.newer - $2
	FROM c
	WHERE j.tenant = c.tenant AND j.write = c.write AND c.newer > $2 AND c.newer - c.kept < $2
		AND j.trimmed < c.trimmed + c.newer - $2`

// journalPruneLock is the lock scope (lockScope) every replica's journal
// prunes and clears take: one at a time, they cannot deadlock on each
// other's rows (a prune updates the page its bound falls in before it
// deletes the pages past it, so two prunes whose bounds differ lock rows
// in opposite orders).
const journalPruneLock = "journal prune"

// prune keeps the newest Size entries of each of tenants, in one
// statement under journalPruneLock. It reads every page of each tenant:
// under load a few large ones (a write's worth each), when idle at most
// Size small ones.
func (s *JournalStore) prune(ctx context.Context, tenants map[string]struct{}) error {
	names := make([]string, 0, len(tenants))
	for t := range tenants {
		names = append(names, t)
	}
	if err := s.locked(ctx, journalPrune, names, s.o.Size); err != nil {
		return fmt.Errorf("%s: journal: prune: %w", s.db.name, err)
	}
	return nil
}

// locked runs query, in PostgreSQL's syntax, in a transaction that holds
// journalPruneLock; uncounted by RoundTrips, as execQueued (conn.lock
// would count it).
func (s *JournalStore) locked(ctx context.Context, query string, args ...any) error {
	tx, err := s.db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, s.db.d.rebind(lockScope), journalPruneLock); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return err
	}
	return tx.Commit()
}

// execQueued runs a write of the queue, in PostgreSQL's syntax, uncounted
// by RoundTrips: the writer runs beside the requests, and what it sends
// is no request's cost.
func (s *JournalStore) execQueued(ctx context.Context, query string, args ...any) error {
	_, err := s.db.db.ExecContext(ctx, query, args...)
	return err
}

// journalReadPages is how many pages a read asks for at a time, at
// first: a read of every tenant doubles it while one write's pages fill
// an answer.
const journalReadPages = 16

// Entries writes this replica's queue, waits out ReadWait for the
// newest entries, then reads the database: the pages of the writes below
// before, newest first, until n entries match f.
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
	out := []journal.Entry{}
	if before == 0 || n <= 0 {
		return out, nil
	}
	q := "SELECT write, trimmed, docs FROM journal_pages WHERE write <= ?"
	if f.Tenant != "" {
		q += " AND tenant = ?"
	}
	q += " ORDER BY write DESC LIMIT ?"
	top, limit := int64((before-1)>>journalWriteBits), journalReadPages
	for {
		args := []any{top}
		if f.Tenant != "" {
			args = append(args, f.Tenant)
		}
		pages, err := s.readPages(ctx, q, append(args, limit))
		if err != nil {
			return nil, err
		}
		more := len(pages) == limit
		if more && f.Tenant == "" {
			// The last write read may have pages beyond the limit: it is
			// read whole on the next round, unless it is the only one.
			last := pages[len(pages)-1].write
			whole := len(pages)
			for whole > 0 && pages[whole-1].write == last {
				whole--
			}
			if whole == 0 {
				limit *= 2
				continue
			}
			pages = pages[:whole]
		}
		for i := 0; i < len(pages); {
			j := i
			for j < len(pages) && pages[j].write == pages[i].write {
				j++
			}
			if out, err = collectWrite(out, pages[i:j], f, before, n); err != nil || len(out) == n {
				return out, err
			}
			i = j
		}
		if !more {
			return out, nil
		}
		top = pages[len(pages)-1].write - 1
	}
}

// storedPage is a page as read.
type storedPage struct {
	write   int64
	trimmed int // lines cut from the start of docs
	docs    string
}

func (s *JournalStore) readPages(ctx context.Context, q string, args []any) ([]storedPage, error) {
	rows, err := s.db.read().query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: journal: %w", s.db.name, err)
	}
	defer rows.Close()
	var out []storedPage
	for rows.Next() {
		var p storedPage
		if err := rows.Scan(&p.write, &p.trimmed, &p.docs); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// collectWrite appends to out, newest first, the entries of one write's
// pages that are below before and match f, until out holds n.
func collectWrite(out []journal.Entry, pages []storedPage, f journal.Filter, before uint64, n int) ([]journal.Entry, error) {
	type line struct {
		seq uint64
		doc string
	}
	var lines []line
	for _, p := range pages {
		cut := p.trimmed
		for l := range strings.SplitSeq(p.docs, "\n") {
			if cut > 0 {
				cut--
				continue
			}
			place, doc, ok := strings.Cut(l, " ")
			k, err := strconv.Atoi(place)
			if !ok || err != nil || k < 0 || k >= 1<<journalWriteBits {
				return out, fmt.Errorf("journal write %d: a line without its place", p.write)
			}
			if seq := uint64(p.write)<<journalWriteBits + uint64(k); seq < before {
				lines = append(lines, line{seq, doc})
			}
		}
	}
	slices.SortFunc(lines, func(a, b line) int { return cmp.Compare(b.seq, a.seq) })
	for _, l := range lines {
		if len(out) == n {
			break
		}
		var e journal.Entry
		if err := json.Unmarshal([]byte(l.doc), &e); err != nil {
			return out, fmt.Errorf("journal entry %d: %w", l.seq, err)
		}
		e.Seq = l.seq
		if f.Match(&e) {
			out = append(out, e)
		}
	}
	return out, nil
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
	q, args := "DELETE FROM journal_pages", []any(nil)
	if tenant != "" {
		q, args = "DELETE FROM journal_pages WHERE tenant = $1", []any{tenant}
	}
	if err := s.locked(ctx, q, args...); err != nil {
		return fmt.Errorf("%s: journal: clear: %w", s.db.name, err)
	}
	return nil
}
