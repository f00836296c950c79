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
	u := freshSchema(t)
	open := func() *sqlstore.JournalStore {
		db, err := sqlstore.Open(ctx, sqlstore.Options{DatabaseURL: u})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return openJournal(t, db, sqlstore.JournalOptions{})
	}
	a, b := open(), open()
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
		if err := db.QueryRowRaw(ctx, "SELECT COUNT(*) FROM journal", &n); err != nil {
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

// TestJournalPruneReachesRowsBelowItsFloor: a prune deletes only above
// the floor it last pruned a tenant to, so a row committed below that
// floor afterwards (another replica's slow write) outlives the next
// prunes, until the tenant's periodic prune from the bottom removes it,
// however the prunes of other tenants fall between; the tenant then keeps
// its newest Size entries, as after every prune.
func TestJournalPruneReachesRowsBelowItsFloor(t *testing.T) {
	ctx := context.Background()
	u := freshSchema(t)
	db, err := sqlstore.Open(ctx, sqlstore.Options{DatabaseURL: u})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	j := openJournal(t, db, sqlstore.JournalOptions{Size: 2, FlushEvery: time.Hour, ReadWait: time.Millisecond, Batch: 1000})
	raw, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	list := func() []string {
		t.Helper()
		got, err := j.Entries(ctx, journal.Filter{Tenant: "acme"}, ^uint64(0), 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.RequestID)
		}
		return ids
	}
	// Each read writes the queue and prunes: the first prune.
	for i := range 4 {
		j.Append(journal.Entry{RequestID: fmt.Sprint("r", i), Tenant: "acme", Time: time.Now()})
	}
	if got := list(); !slices.Equal(got, []string{"r3", "r2"}) {
		t.Fatalf("after the first prune: %v", got)
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO journal (seq, tenant, at, operation, client_id, status, request_id, doc)
		OVERRIDING SYSTEM VALUE VALUES (1, 'acme', 0, '', '', 200, 'late', '{"request_id":"late","tenant":"acme"}')`); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= sqlstore.JournalFullPrune; i++ {
		// Another tenant's prune between two of acme's: the count from
		// the bottom is each tenant's own.
		j.Append(journal.Entry{RequestID: fmt.Sprint("g", i), Tenant: "globex", Time: time.Now()})
		if _, err := j.Entries(ctx, journal.Filter{Tenant: "globex"}, ^uint64(0), 1); err != nil {
			t.Fatal(err)
		}
		j.Append(journal.Entry{RequestID: fmt.Sprint("r", i+2), Tenant: "acme", Time: time.Now()})
		got := list()
		want := []string{fmt.Sprint("r", i+2), fmt.Sprint("r", i+1), "late"}
		if i == sqlstore.JournalFullPrune {
			want = want[:2]
		}
		if !slices.Equal(got, want) {
			t.Fatalf("after prune %d: %v, want %v", i, got, want)
		}
	}
}
