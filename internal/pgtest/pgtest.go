// Package pgtest gives tests a PostgreSQL server, the one
// ARGUS_SANDBOX_TEST_DATABASE_URL names (.ci/run starts a throwaway
// cluster and sets it), and databases of their own on it. Without the
// variable a test skips, except in CI, where it fails: CI runs every
// PostgreSQL test.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Env is the variable naming the test server.
const Env = "ARGUS_SANDBOX_TEST_DATABASE_URL"

// URL returns the test server's URL. Without one t skips, or, in CI,
// fails.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(Env)
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is unset: CI must run the PostgreSQL tests (.ci/run starts a cluster and sets it)", Env)
		}
		t.Skipf("%s is unset: set it to a PostgreSQL URL to run this test", Env)
	}
	return u
}

// Database creates a database of its own for t on the test server,
// dropped (with its connections) at t's end, and returns its URL.
func Database(t testing.TB) string {
	t.Helper()
	base := URL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "t_" + hex.EncodeToString(b)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		_ = admin.Close()
		t.Fatalf("%s: create a test database: %v", Env, err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
