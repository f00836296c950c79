package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one embedded file, NNNN_name.sql, applied as version NNNN,
// then its step in Go, if any (afterSQL).
type migration struct {
	version int
	name    string
	sql     string
}

// afterSQL holds, by version, what a migration does that one SQL for both
// engines cannot say (reading JSON documents), run in its transaction
// after its statements.
var afterSQL = map[int]func(ctx context.Context, c conn) error{
	4: copyLeaseOwners,
	5: journalSequence,
	6: journalToPages,
}

// migrations lists the embedded migrations in version order; versions
// start at 1 and have no gaps.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: the name does not start with a version", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %s: version %d, want %d", m.name, m.version, i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the newest schema version this build knows.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// ErrNewerSchema is matched by the error of Open on a database whose
// schema a newer build wrote.
var ErrNewerSchema = errors.New("the database was written by a newer version of argus-sandbox")

// migrateTo applies, in one transaction, the migrations up to version upTo
// (SchemaVersion but in tests, which build older schemas) the database
// lacks, recording each in schema_version. It refuses a database whose
// version is newer than this build knows: its data may mean what this
// build cannot read. Concurrent starts (replicas) serialise on the
// transaction.
func (d *DB) migrateTo(ctx context.Context, upTo int) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return d.write(ctx, []string{"schema_version"}, func(c conn) error {
		if err := c.execDDL(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    INTEGER PRIMARY KEY,
			applied_at TEXT NOT NULL)`); err != nil {
			return fmt.Errorf("%s: schema_version: %w", d.name, err)
		}
		var cur sql.NullInt64
		if err := c.tx.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_version").Scan(&cur); err != nil {
			return fmt.Errorf("%s: schema_version: %w", d.name, err)
		}
		if int(cur.Int64) > len(ms) {
			return fmt.Errorf("%s: schema version %d, this build knows up to %d: %w; run a newer release",
				d.name, cur.Int64, len(ms), ErrNewerSchema)
		}
		for _, m := range ms[min(int(cur.Int64), upTo):upTo] {
			for _, stmt := range splitStatements(m.sql) {
				if err := c.execDDL(ctx, stmt); err != nil {
					return fmt.Errorf("%s: migration %s: %w", d.name, m.name, err)
				}
			}
			if after := afterSQL[m.version]; after != nil {
				if err := after(ctx, c); err != nil {
					return fmt.Errorf("%s: migration %s: %w", d.name, m.name, err)
				}
			}
			if err := c.execDDL(ctx, "INSERT INTO schema_version (version, applied_at) VALUES (?, CURRENT_TIMESTAMP)", m.version); err != nil {
				return fmt.Errorf("%s: migration %s: %w", d.name, m.name, err)
			}
		}
		return nil
	})
}

// splitStatements splits a migration at the semicolons ending its lines,
// dropping comments: the pgx driver runs one statement per call with
// arguments, and SQLite's driver likewise.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	for line := range strings.SplitSeq(src, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(strings.TrimSpace(line), ";") {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
