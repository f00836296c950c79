package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// PageRows is how many rows the keyset pages have read so far.
func (d *DB) PageRows() int64 { return d.pageRows.Load() }

// ListenerPID is the backend of the relay's listening connection (0
// before it listens).
func (b *StreamBus) ListenerPID() uint32 { return b.pid.Load() }

// The keyset page queries, for the tests of their plans.
const (
	SeqPageQuery  = seqPageQuery
	CaseNextPage  = caseNextPage
	CaseFirstPage = caseFirstPage

	OutstandingQuery       = outstandingQuery
	OutstandingTenantQuery = outstandingTenantQuery
)

// Explain returns the database's plan of query with args, as text: SQLite's
// EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN (ANALYZE, FORMAT JSON), which
// runs the query and reports the rows each node read.
func (d *DB) Explain(ctx context.Context, query string, args ...any) (string, error) {
	prefix := "EXPLAIN QUERY PLAN "
	if d.d.postgres {
		if _, err := d.db.ExecContext(ctx, "ANALYZE records"); err != nil {
			return "", err
		}
		prefix = "EXPLAIN (ANALYZE, FORMAT JSON) "
	}
	rows, err := d.db.QueryContext(ctx, prefix+d.d.rebind(query), args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out strings.Builder
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprint(&out, v, " ")
		}
		out.WriteString("\n")
	}
	return out.String(), rows.Err()
}

// FillRecords stores n records of kind in each of tenants, in one
// transaction, batched: record i (1 to n) has seq i and the document
// doc(tenant, i). It makes the large tables of the paging tests and
// benchmarks in seconds, where n writes through a store would take
// minutes.
//
// On PostgreSQL it then vacuums and analyzes the table, as autovacuum
// would shortly after such an insert: done here, it does not run in the
// middle of a measurement.
func (d *DB) FillRecords(ctx context.Context, kind string, tenants []string, n int, doc func(tenant string, i int) any) error {
	if err := d.fill(ctx, kind, tenants, n, doc); err != nil {
		return err
	}
	if d.d.postgres {
		_, err := d.db.ExecContext(ctx, "VACUUM ANALYZE records")
		return err
	}
	return nil
}

func (d *DB) fill(ctx context.Context, kind string, tenants []string, n int, doc func(tenant string, i int) any) error {
	const batch = 500
	return d.write(ctx, nil, func(c conn) error {
		for _, tenant := range tenants {
			for lo := 1; lo <= n; lo += batch {
				hi := min(lo+batch-1, n)
				var q strings.Builder
				q.WriteString("INSERT INTO records (kind, parent, id, tenant, seq, doc) VALUES ")
				args := make([]any, 0, 6*(hi-lo+1))
				for i := lo; i <= hi; i++ {
					if i > lo {
						q.WriteString(", ")
					}
					q.WriteString("(?, '', ?, ?, ?, ?)")
					b, err := json.Marshal(doc(tenant, i))
					if err != nil {
						return err
					}
					args = append(args, kind, fmt.Sprintf("%s_%s_%d", kind, tenant, i), tenant, i, string(b))
				}
				if err := c.execDDL(ctx, q.String(), args...); err != nil {
					return err
				}
			}
			if _, err := c.exec(ctx, `INSERT INTO counters (name, n) VALUES (?, ?)
				ON CONFLICT (name) DO UPDATE SET n = ?`, kind+":"+tenant, n, n); err != nil {
				return err
			}
		}
		return nil
	})
}

// OpenAtVersion opens a database as Open does, migrated only up to schema
// version upTo: a database an older build wrote.
func OpenAtVersion(ctx context.Context, o Options, upTo int) (*DB, error) { return open(ctx, o, upTo) }

// ExecRaw runs query (? placeholders) on the database outside the stores:
// rows written as an older build wrote them.
func (d *DB) ExecRaw(ctx context.Context, query string, args ...any) error {
	_, err := d.db.ExecContext(ctx, d.d.rebind(query), args...)
	return err
}

// AnalyzeRuns is how many analyses of the records table the store has
// finished (analyze.go).
func (d *DB) AnalyzeRuns() int {
	d.analyze.mu.Lock()
	defer d.analyze.mu.Unlock()
	return d.analyze.runs
}

// QueryRowRaw scans the one row of query (? placeholders) into dest.
func (d *DB) QueryRowRaw(ctx context.Context, query string, dest ...any) error {
	return d.db.QueryRowContext(ctx, d.d.rebind(query)).Scan(dest...)
}

// StatementsPrepared is how many statements the cache holds.
func (d *DB) StatementsPrepared() int64 { return d.nstmts.Load() }

// FinishedCountQuery is the retention's count of a webhook's finished
// deliveries (kind, webhook), for the test of its plan.
const FinishedCountQuery = finishedCountQuery

// ReadBatchQuery is an update batch's read of n deliveries (n keys, then
// the kind), for the test of its plan.
func ReadBatchQuery(n int) string { return readBatchQuery(n, false, "") }
