package sqlstore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/sqlstore"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
	"github.com/knogin/argus-sandbox/internal/pgtest"
)

// engine opens a new, empty database of one engine for a test.
type engine struct {
	name string
	open func(t testing.TB) *sqlstore.DB
}

// engines are SQLite in a temp dir and, when pgtest.Env is set,
// PostgreSQL in a schema of its own per database.
func engines(t testing.TB) []engine {
	return []engine{{name: "sqlite", open: openSQLite}, {name: "postgres", open: openPostgres}}
}

func openSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// freshSchema creates a schema of its own for t in the test database,
// dropped at the end of t, and returns a URL whose search_path is it.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := pgtest.URL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = admin.Close() })
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("%s: %v", pgtest.Env, err)
	}
	t.Cleanup(func() { _, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openPostgres(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{DatabaseURL: freshSchema(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// migrationEngines are the engines a migration test runs on, as the
// Options of a new, empty database each.
func migrationEngines() []struct {
	name string
	o    func(t *testing.T) sqlstore.Options
} {
	return []struct {
		name string
		o    func(t *testing.T) sqlstore.Options
	}{
		{name: "sqlite", o: func(t *testing.T) sqlstore.Options { return sqlstore.Options{DataDir: t.TempDir()} }},
		{name: "postgres", o: func(t *testing.T) sqlstore.Options { return sqlstore.Options{DatabaseURL: freshSchema(t)} }},
	}
}

// openOldWithWebhook opens a database of o migrated up to schema upTo
// and stores webhook wh_1 of tenant acme in it, as that schema did.
func openOldWithWebhook(t *testing.T, o sqlstore.Options, upTo int, w webhooks.Webhook) *sqlstore.DB {
	t.Helper()
	old, err := sqlstore.OpenAtVersion(context.Background(), o, upTo)
	if err != nil {
		t.Fatal(err)
	}
	w.ID, w.Tenant, w.Seq = "wh_1", "acme", 1
	hook, _ := json.Marshal(w)
	if err := old.ExecRaw(context.Background(), "INSERT INTO records (kind, id, tenant, seq, doc) VALUES ('webhook', 'wh_1', 'acme', 1, ?)", string(hook)); err != nil {
		t.Fatal(err)
	}
	return old
}

// webhookStore is db's webhooks store holding webhook wh_1 of tenant acme.
func webhookStore(t *testing.T, db *sqlstore.DB) *sqlstore.WebhooksStore {
	t.Helper()
	st := db.Webhooks(0, 0)
	if _, err := st.CreateWebhook(context.Background(), webhooks.Webhook{ID: "wh_1", Tenant: "acme"}); err != nil {
		t.Fatal(err)
	}
	return st
}
