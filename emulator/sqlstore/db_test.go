package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/emulator/sqlstore"
)

// TestDataDirIsPrivate: a data directory the store creates is 0700, and
// its database files 0600, whatever the umask.
func TestDataDirIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	db, err := sqlstore.Open(context.Background(), sqlstore.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.MarkSeeded(context.Background()); err != nil { // a write: the WAL files exist
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) == 0 {
		t.Fatal("no database file")
	}
	if st, _ := os.Stat(dir); st.Mode().Perm() != 0o700 {
		t.Errorf("data directory mode %v, want 0700", st.Mode().Perm())
	}
	for _, e := range entries {
		if st, _ := os.Stat(filepath.Join(dir, e.Name())); st.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", e.Name(), st.Mode().Perm())
		}
	}
}

// TestSeededOnce: a new database is not seeded; MarkSeeded says it is,
// to every later start.
func TestSeededOnce(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db := e.open(t)
			if seeded, err := db.Seeded(ctx); err != nil || seeded {
				t.Fatalf("new database: Seeded = %v, %v; want false", seeded, err)
			}
			for range 2 {
				if err := db.MarkSeeded(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if seeded, err := db.Seeded(ctx); err != nil || !seeded {
				t.Errorf("after MarkSeeded: Seeded = %v, %v; want true", seeded, err)
			}
		})
	}
}

// TestReopenAndNewerSchema: reopening applies nothing twice, and a
// database a newer build migrated is refused naming its version.
func TestReopenAndNewerSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() (*sqlstore.DB, error) { return sqlstore.Open(ctx, sqlstore.Options{DataDir: dir}) }
	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	db, err = open()
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	_ = db.Close()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, sqlstore.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("INSERT INTO schema_version (version, applied_at) VALUES (?, 'later')", sqlstore.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	_ = raw.Close()
	_, err = open()
	if !errors.Is(err, sqlstore.ErrNewerSchema) || !strings.Contains(err.Error(), dir) {
		t.Errorf("open a newer database = %v, want ErrNewerSchema naming %s", err, dir)
	}
}

// TestDataDirServesOneProcess: a data directory open in one sandbox is
// refused to a second open, naming the process that holds it (the
// in-memory state of two processes on one SQLite file would drift
// apart); closing it frees it.
func TestDataDirServesOneProcess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := sqlstore.Open(ctx, sqlstore.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	second, err := sqlstore.Open(ctx, sqlstore.Options{DataDir: dir})
	if err == nil {
		_ = second.Close()
		_ = first.Close()
		t.Fatal("a second open of a data directory in use succeeded")
	}
	if !errors.Is(err, sqlstore.ErrDataDirInUse) || !strings.Contains(err.Error(), fmt.Sprintf("process %d", os.Getpid())) || !strings.Contains(err.Error(), dir) {
		t.Errorf("second open: %v; want ErrDataDirInUse naming the directory and process %d", err, os.Getpid())
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := sqlstore.Open(ctx, sqlstore.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("open after the first closed: %v", err)
	}
	_ = again.Close()
	if fi, err := os.Stat(filepath.Join(dir, sqlstore.LockName)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, %v; want mode 0600", fi, err)
	}
}

// TestRedactHidesEveryPassword: a database URL in a message shows no
// password, neither the URL's own nor a password parameter, and a
// keyword connection string is not shown at all.
func TestRedactHidesEveryPassword(t *testing.T) {
	for _, raw := range []string{
		"postgres://app:s3cret@db.example:5432/sandbox",
		"postgres://app@db.example/sandbox?password=s3cret&sslmode=require",
		"postgresql:///sandbox?host=/run/pg&password=s3cret",
		"host=db.example user=app password=s3cret dbname=sandbox",
	} {
		if got := sqlstore.Redact(raw); strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) = %q", raw, got)
		}
	}
	if got := sqlstore.Redact("postgres://app@db.example/sandbox?sslmode=require"); got != "postgres://app@db.example/sandbox?sslmode=require" {
		t.Errorf("a URL without a password became %q", got)
	}
}
