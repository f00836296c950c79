package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/journal"
	"github.com/knogin/argus-sandbox/emulator/journal/storetest"
	"github.com/knogin/argus-sandbox/emulator/sqlstore"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
	"github.com/knogin/argus-sandbox/internal/racetest"
)

func openJournal(t testing.TB, db *sqlstore.DB, o sqlstore.JournalOptions) *sqlstore.JournalStore {
	t.Helper()
	j, err := db.Journal(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// replicaJournals opens n journal stores on one fresh database, each on a
// database handle of its own, as n replicas would.
func replicaJournals(t *testing.T, n int, o sqlstore.JournalOptions) []*sqlstore.JournalStore {
	t.Helper()
	u := freshSchema(t)
	stores := make([]*sqlstore.JournalStore, n)
	for i := range stores {
		db, err := sqlstore.Open(context.Background(), sqlstore.Options{DatabaseURL: u})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		stores[i] = openJournal(t, db, o)
	}
	return stores
}

func TestJournalStorePostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T, size int) journal.Store {
		return openJournal(t, openPostgres(t), sqlstore.JournalOptions{Size: size})
	})
}

// TestJournalStoreSharedByReplicas: two stores on one database (two
// replicas) list each other's entries appended before the read, in one
// numbering, and a clear on one forgets the other's.
func TestJournalStoreSharedByReplicas(t *testing.T) {
	ctx := context.Background()
	stores := replicaJournals(t, 2, sqlstore.JournalOptions{})
	a, b := stores[0], stores[1]
	a.Append(journal.Entry{RequestID: "on-a", Tenant: "acme", Time: time.Now()})
	b.Append(journal.Entry{RequestID: "on-b", Tenant: "acme", Time: time.Now()})
	// a's read waits out b's write interval: b's entry, appended before
	// the read began, is listed by it.
	got, err := a.Entries(ctx, journal.Filter{Tenant: "acme"}, ^uint64(0), 10)
	if err != nil || len(got) != 2 || got[0].Seq == got[1].Seq {
		t.Fatalf("a lists %+v (%v), want both replicas' entries, each with its own seq", got, err)
	}
	if err := a.Clear(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Entries(ctx, journal.Filter{}, ^uint64(0), 10); err != nil || len(got) != 0 {
		t.Fatalf("b after a's clear: %+v, %v", got, err)
	}
}

// TestJournalStoreDropsPastItsQueueBound: while the database has not
// taken the queue, entries past MaxPending are dropped and counted, and
// Append returns at once; a read then writes and lists the kept ones.
func TestJournalStoreDropsPastItsQueueBound(t *testing.T) {
	j := openJournal(t, openPostgres(t), sqlstore.JournalOptions{FlushEvery: time.Hour, ReadWait: time.Millisecond, Batch: 1000, MaxPending: 5})
	for i := range 8 {
		j.Append(journal.Entry{RequestID: fmt.Sprint("r", i), Tenant: "acme", Time: time.Now()})
	}
	if d := j.Dropped(); d != 3 {
		t.Fatalf("%d dropped, want 3", d)
	}
	got, err := j.Entries(context.Background(), journal.Filter{}, ^uint64(0), 100)
	if err != nil || len(got) != 5 || got[0].RequestID != "r4" || got[4].RequestID != "r0" {
		t.Fatalf("kept %+v, %v; want r4..r0", got, err)
	}
}

// TestJournalStoreDropsWhatJSONCannotCarry: an entry whose time is past
// year 9999 is dropped and counted, and the entries beside it are
// written, then and later.
func TestJournalStoreDropsWhatJSONCannotCarry(t *testing.T) {
	ctx := context.Background()
	j := openJournal(t, openPostgres(t), sqlstore.JournalOptions{FlushEvery: time.Hour, ReadWait: time.Millisecond, Batch: 1000})
	j.Append(journal.Entry{RequestID: "before", Tenant: "acme", Time: time.Now()})
	j.Append(journal.Entry{RequestID: "far", Tenant: "acme", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	j.Append(journal.Entry{RequestID: "alone", Tenant: "globex", Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	j.Append(journal.Entry{RequestID: "after", Tenant: "acme", Time: time.Now()})
	got, err := j.Entries(ctx, journal.Filter{}, ^uint64(0), 10)
	if err != nil || len(got) != 2 || got[0].RequestID != "after" || got[1].RequestID != "before" {
		t.Fatalf("listed %+v, %v; want after, before", got, err)
	}
	if d := j.Dropped(); d != 2 {
		t.Fatalf("%d dropped, want 2", d)
	}
	j.Append(journal.Entry{RequestID: "later", Tenant: "acme", Time: time.Now()})
	if got, err := j.Entries(ctx, journal.Filter{}, ^uint64(0), 1); err != nil || len(got) != 1 || got[0].RequestID != "later" {
		t.Fatalf("the next write: %+v, %v", got, err)
	}
}

// TestJournalStoreWritesInTheBackground: an entry reaches the database
// within FlushEvery without a read of the replica that recorded it.
func TestJournalStoreWritesInTheBackground(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	db, err := sqlstore.Open(ctx, sqlstore.Options{DatabaseURL: u})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	j := openJournal(t, db, sqlstore.JournalOptions{FlushEvery: 20 * time.Millisecond})
	j.Append(journal.Entry{RequestID: "r", Tenant: "acme", Time: time.Now()})
	var n int
	for range 250 {
		if err := db.QueryRowRaw(ctx, "SELECT COALESCE(SUM(n - trimmed), 0) FROM journal_pages", &n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%d rows in the journal 5 s after an append", n)
}

func TestJournalNeedsPostgres(t *testing.T) {
	if _, err := openSQLite(t).Journal(sqlstore.JournalOptions{}); err == nil {
		t.Fatal("a SQLite database gave a shared journal")
	}
}

// TestJournalMigrationKeepsRecords: a database from before the journal
// (schema 4) migrates with its records kept and then journals.
func TestJournalMigrationKeepsRecords(t *testing.T) {
	ctx := context.Background()
	for _, tt := range migrationEngines() {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o(t)
			old := openOldWithWebhook(t, o, 4, webhooks.Webhook{URL: "https://example.com/hook"})
			_ = old.Close()
			db, err := sqlstore.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			w, err := db.Webhooks(0, 0).GetWebhook(ctx, "acme", "wh_1")
			if err != nil || w.URL != "https://example.com/hook" {
				t.Fatalf("after migrating, the webhook reads %+v, %v", w, err)
			}
			if !db.Postgres() {
				return
			}
			j := openJournal(t, db, sqlstore.JournalOptions{})
			j.Append(journal.Entry{RequestID: "r", Tenant: "acme", Time: time.Now()})
			if got, err := j.Entries(ctx, journal.Filter{}, ^uint64(0), 10); err != nil || len(got) != 1 || got[0].Seq == 0 {
				t.Fatalf("journal after migrating: %+v, %v", got, err)
			}
		})
	}
}

// TestJournalPagesMigrationKeepsEntries: a PostgreSQL journal of schema 5
// (a row an entry) migrates into pages with its entries, in their order
// and with their numbers (a cursor read before still points where it
// did), and the entries written after number above them.
func TestJournalPagesMigrationKeepsEntries(t *testing.T) {
	ctx := context.Background()
	o := sqlstore.Options{DatabaseURL: freshSchema(t)}
	old, err := sqlstore.OpenAtVersion(ctx, o, 5)
	if err != nil {
		t.Fatal(err)
	}
	// Numbers as the identity column gave them, two in one page-to-be,
	// one a page further.
	seqs := []int64{1500, 1501, 2100}
	for i, tenant := range []string{"acme", "globex", "acme"} {
		doc := fmt.Sprintf(`{"seq":0,"tenant":%q,"request_id":"old%d","status":200}`, tenant, i)
		if err := old.ExecRaw(ctx, `INSERT INTO journal (seq, tenant, at, operation, client_id, status, request_id, doc)
			OVERRIDING SYSTEM VALUE VALUES (?, ?, 0, '', '', 200, ?, ?)`, seqs[i], tenant, fmt.Sprint("old", i), doc); err != nil {
			t.Fatal(err)
		}
	}
	_ = old.Close()
	db, err := sqlstore.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	j := openJournal(t, db, sqlstore.JournalOptions{ReadWait: time.Millisecond})
	j.Append(journal.Entry{RequestID: "new", Tenant: "acme", Time: time.Now()})
	got, err := j.Entries(ctx, journal.Filter{}, ^uint64(0), 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i, e := range got {
		ids = append(ids, e.RequestID)
		if i > 0 && e.Seq >= got[i-1].Seq {
			t.Errorf("%s numbered %d after %d", e.RequestID, e.Seq, got[i-1].Seq)
		}
	}
	if !slices.Equal(ids, []string{"new", "old2", "old1", "old0"}) {
		t.Fatalf("after migrating: %v, want new old2 old1 old0", ids)
	}
	for i, want := range []int64{2100, 1501, 1500} {
		if got[i+1].Seq != uint64(want) {
			t.Errorf("%s numbered %d after migrating, %d before", got[i+1].RequestID, got[i+1].Seq, want)
		}
	}
	// A cursor read before the migration: the entries below it.
	below, err := j.Entries(ctx, journal.Filter{}, 1501, 10)
	if err != nil || len(below) != 1 || below[0].RequestID != "old0" {
		t.Fatalf("below cursor 1501 after migrating: %+v, %v", below, err)
	}
	acme, err := j.Entries(ctx, journal.Filter{Tenant: "acme"}, ^uint64(0), 10)
	if err != nil || len(acme) != 3 {
		t.Fatalf("acme after migrating: %+v, %v", acme, err)
	}
}

// BenchmarkJournalStore measures what recording costs a request (Append:
// queuing only) and how fast the writer empties the queue into
// PostgreSQL, in batches of 64 and 500 entries, each pruning its tenant.
func BenchmarkJournalStore(b *testing.B) {
	e := journal.Entry{RequestID: "req_0123456789", Tenant: "acme", Time: time.Now(), Method: "GET", Path: "/v1/platform/apps",
		Operation: "listApps", API: "platform", Auth: journal.Auth{Method: journal.AuthAdminToken, Kind: "admin"}, Scopes: []string{}, Status: 200}
	b.Run("append", func(b *testing.B) {
		j := openJournal(b, openPostgres(b), sqlstore.JournalOptions{MaxPending: b.N + 1})
		b.ReportAllocs()
		for b.Loop() {
			j.Append(e)
		}
	})
	for _, batch := range []int{64, 500} {
		b.Run(fmt.Sprint("write ", batch), func(b *testing.B) {
			j := openJournal(b, openPostgres(b), sqlstore.JournalOptions{FlushEvery: time.Hour, Batch: 1 << 30})
			ctx := context.Background()
			for b.Loop() {
				for range batch {
					j.Append(e)
				}
				// A read writes the queue first; it finds nothing.
				if _, err := j.Entries(ctx, journal.Filter{RequestID: "none"}, 1, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// TestJournalPruneCountsLatePages: a page committed below the newest
// (another replica's slow write, numbered before writes already stored)
// is counted by the next prune like any other: the tenant keeps its newest
// Size entries, across pages, the page the bound falls in trimmed to its
// newest entries with their numbers unchanged.
func TestJournalPruneCountsLatePages(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	db, err := sqlstore.Open(ctx, sqlstore.Options{DatabaseURL: u})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	j := openJournal(t, db, sqlstore.JournalOptions{Size: 3, FlushEvery: time.Hour, ReadWait: time.Millisecond, Batch: 1000})
	raw, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	list := func() ([]string, []uint64) {
		t.Helper()
		got, err := j.Entries(ctx, journal.Filter{Tenant: "acme"}, ^uint64(0), 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		var seqs []uint64
		for _, e := range got {
			ids, seqs = append(ids, e.RequestID), append(seqs, e.Seq)
		}
		return ids, seqs
	}
	// Each read writes the queue and prunes: two entries, then four
	// in one page, of which the prune keeps the newest three.
	for i := range 2 {
		j.Append(journal.Entry{RequestID: fmt.Sprint("r", i), Tenant: "acme", Time: time.Now()})
	}
	if got, _ := list(); !slices.Equal(got, []string{"r1", "r0"}) {
		t.Fatalf("after the first write: %v", got)
	}
	for i := 2; i < 6; i++ {
		j.Append(journal.Entry{RequestID: fmt.Sprint("r", i), Tenant: "acme", Time: time.Now()})
	}
	ids, seqs := list()
	if !slices.Equal(ids, []string{"r5", "r4", "r3"}) {
		t.Fatalf("after the second write: %v", ids)
	}
	// Write 1 held r0 and r1, which the second write's prune dropped: a
	// write numbered 1 is below every write stored.
	if _, err := raw.ExecContext(ctx, `INSERT INTO journal_pages (write, tenant, trimmed, n, docs)
		VALUES (1, 'acme', 0, 2, '0 {"request_id":"late0","tenant":"acme"}'||chr(10)||'1 {"request_id":"late1","tenant":"acme"}')`); err != nil {
		t.Fatal(err)
	}
	if got, _ := list(); !slices.Equal(got, []string{"r5", "r4", "r3", "late1", "late0"}) {
		t.Fatalf("with the late page, before a prune: %v", got)
	}
	j.Append(journal.Entry{RequestID: "r6", Tenant: "acme", Time: time.Now()})
	got, after := list()
	if !slices.Equal(got, []string{"r6", "r5", "r4"}) {
		t.Fatalf("after the next prune: %v, want r6 r5 r4", got)
	}
	if after[1] != seqs[0] || after[2] != seqs[1] {
		t.Fatalf("a trimmed page renumbered its entries: %v, before %v", after, seqs)
	}
}

// TestJournalPrunesOfReplicasDoNotDeadlock: replicas writing overlapping
// tenants at once, each write pruning them, never fail a write or a read
// (two prunes whose bounds differ lock the same rows in opposite orders;
// unserialised, PostgreSQL aborted one of them as a deadlock every few
// hundred writes).
func TestJournalPrunesOfReplicasDoNotDeadlock(t *testing.T) {
	ctx := context.Background()
	const replicas, writes, size = 3, 250, 5
	tenants := []string{"a", "b", "c", "d", "e", "f"}
	stores := replicaJournals(t, replicas, sqlstore.JournalOptions{Size: size, FlushEvery: time.Hour, ReadWait: time.Millisecond, Batch: 1000})
	racetest.Run(replicas, func(r int) {
		for w := range writes {
			for k, tenant := range tenants {
				if (w+k+r)%3 != 0 {
					stores[r].Append(journal.Entry{RequestID: fmt.Sprintf("r%d-%d-%d", r, w, k), Tenant: tenant, Time: time.Now()})
					stores[r].Append(journal.Entry{RequestID: fmt.Sprintf("s%d-%d-%d", r, w, k), Tenant: tenant, Time: time.Now()})
				}
			}
			// A read writes the queue and prunes, then lists.
			if _, err := stores[r].Entries(ctx, journal.Filter{Tenant: tenants[w%len(tenants)]}, 1<<62, 100); err != nil {
				t.Errorf("replica %d, write %d: %v", r, w, err)
				return
			}
		}
	})
}

// TestJournalReadsAWriteOfManyTenantsInOrder: one write holding more
// tenants' pages than a read asks for at a time is read whole, its
// entries in the order they came, and pages of a few entries walk it once.
func TestJournalReadsAWriteOfManyTenantsInOrder(t *testing.T) {
	ctx := context.Background()
	j := openJournal(t, openPostgres(t), sqlstore.JournalOptions{FlushEvery: time.Hour, ReadWait: time.Millisecond, Batch: 1000})
	var want []string
	for i := range 60 {
		id := fmt.Sprint("r", i)
		j.Append(journal.Entry{RequestID: id, Tenant: fmt.Sprint("t", i%40), Time: time.Now()})
		want = append([]string{id}, want...)
	}
	got, err := j.Entries(ctx, journal.Filter{}, ^uint64(0), 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.RequestID)
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("read %v\nwant %v", ids, want)
	}
	ids = nil
	for before := ^uint64(0); ; {
		page, err := j.Entries(ctx, journal.Filter{}, before, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			ids = append(ids, e.RequestID)
		}
		if len(page) < 7 {
			break
		}
		before = page[len(page)-1].Seq
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("paged %v\nwant %v", ids, want)
	}
}

// TestJournalPrunesOfReplicasTogether: replicas writing one tenant at once,
// each pruning after its writes, never leave it fewer than Size entries
// (no prune cuts a page past its bound), and once they stop, one more
// write leaves it exactly its newest Size.
func TestJournalPrunesOfReplicasTogether(t *testing.T) {
	ctx := context.Background()
	const replicas, writes, each, size = 3, 20, 7, 10
	stores := replicaJournals(t, replicas, sqlstore.JournalOptions{Size: size, FlushEvery: time.Hour, ReadWait: time.Millisecond, Batch: 1000})
	racetest.Run(replicas, func(r int) {
		for w := range writes {
			for k := range each {
				stores[r].Append(journal.Entry{RequestID: fmt.Sprintf("r%d-%d-%d", r, w, k), Tenant: "acme", Time: time.Now()})
			}
			// A read writes the queue and prunes, then lists.
			got, err := stores[r].Entries(ctx, journal.Filter{Tenant: "acme"}, ^uint64(0), 100)
			if err != nil {
				t.Error(err)
				return
			}
			// Its own writes alone are committed by now.
			if want := min(size, (w+1)*each); len(got) < want {
				t.Errorf("replica %d after write %d lists %d entries, want at least %d", r, w, len(got), want)
			}
		}
	})
	// The last writes' prunes may each have missed a page committed
	// meanwhile: one more write and prune settles the count.
	stores[0].Append(journal.Entry{RequestID: "last", Tenant: "acme", Time: time.Now()})
	got, err := stores[0].Entries(ctx, journal.Filter{Tenant: "acme"}, ^uint64(0), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != size || got[0].RequestID != "last" {
		t.Fatalf("%d entries kept, newest %q; want %d, newest \"last\"", len(got), got[0].RequestID, size)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq >= got[i-1].Seq {
			t.Fatalf("entries out of order: %d after %d", got[i].Seq, got[i-1].Seq)
		}
	}
}
