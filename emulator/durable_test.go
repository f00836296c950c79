package emulator_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create test databases

	"github.com/knogin/argus-sandbox/emulator"
)

// durableSandbox starts a sandbox on the SQLite database in dir and
// returns a function sending it a request, answering the status and the
// decoded JSON body.
func durableSandbox(t *testing.T, dir string) (do func(method, path, token, body string) (int, map[string]any), stop func()) {
	t.Helper()
	sb, err := emulator.New(emulator.Config{Issuer: "http://127.0.0.1:8080", DataDir: dir, OperatorToken: "op_test"})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(sb.Close) }
	t.Cleanup(stop)
	return func(method, path, token, body string) (int, map[string]any) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Host = "127.0.0.1:8080"
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := httptest.NewRecorder()
		sb.Handler().ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}, stop
}

// TestDataDirSeedsOnceAndResetReturnsToFixtures: the fixtures seed an
// empty database once; a later start keeps what is stored; reset returns
// to the fixtures, and that too is what the next start finds.
func TestDataDirSeedsOnceAndResetReturnsToFixtures(t *testing.T) {
	dir := t.TempDir()
	apps := func(do func(method, path, token, body string) (int, map[string]any)) int {
		t.Helper()
		code, body := do("GET", "/v1/platform/apps", "sandbox_admin_acme", "")
		if code != 200 {
			t.Fatalf("list apps = %d %v", code, body)
		}
		list, _ := body["data"].([]any)
		return len(list)
	}
	first, stopFirst := durableSandbox(t, dir)
	if n := apps(first); n != 0 {
		t.Fatalf("a new database starts with %d apps, want none", n)
	}
	if code, body := first("POST", "/v1/platform/apps", "sandbox_admin_acme",
		`{"name":"Kept","grant_types":["client_credentials"],"requested_scopes":["webhooks:write"]}`); code != 201 {
		t.Fatalf("create app = %d %v", code, body)
	}

	stopFirst() // a restart: one process serves a data directory at a time
	second, stopSecond := durableSandbox(t, dir)
	if n := apps(second); n != 1 {
		t.Fatalf("a restart finds %d apps, want the 1 registered before it", n)
	}
	if code, body := second("POST", "/_sandbox/reset", "op_test", ""); code/100 != 2 {
		t.Fatalf("reset = %d %v", code, body)
	}
	if n := apps(second); n != 0 {
		t.Errorf("reset kept %d apps", n)
	}
	stopSecond()
	third, _ := durableSandbox(t, dir)
	if n := apps(third); n != 0 {
		t.Errorf("a restart after reset finds %d apps, want none", n)
	}
}

func TestDataDirAndDatabaseURLTogetherAreRefused(t *testing.T) {
	_, err := emulator.New(emulator.Config{Issuer: "http://127.0.0.1:8080", DataDir: t.TempDir(), DatabaseURL: "postgres://127.0.0.1:1/x"})
	if err == nil || !strings.Contains(err.Error(), "DataDir and DatabaseURL") {
		t.Errorf("New = %v, want an error naming both", err)
	}
}

func TestUnwritableDataDirIsADatabaseError(t *testing.T) {
	file := t.TempDir() + "/file"
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := emulator.New(emulator.Config{Issuer: "http://127.0.0.1:8080", DataDir: file + "/sub"})
	if !errors.Is(err, emulator.ErrDatabase) {
		t.Errorf("New on a data directory under a file = %v, want ErrDatabase", err)
	}
}
