package sqlstore

import (
	"context"
	"sync"
	"time"
)

// PostgreSQL plans a statement from the table's statistics, which
// autovacuum refreshes at most once per autovacuum_naptime (a minute by
// default) and only after a tenth of the table changed. A sandbox's first
// burst of webhook deliveries grows the records table from nearly empty to
// tens of thousands of rows within that minute, and the plans chosen for a
// nearly empty table read a delivery batch through the (kind, parent)
// index, filtering each of the webhook's deliveries, instead of by primary
// key: a batch of attempts then took 8–12 ms instead of 2. So the store
// analyzes the table itself, in the background, whenever the rows it
// inserted since its last analysis pass a quarter of what the table held
// then (and at least analyzeMinRows): early while the table is small,
// rarely once it is large, where autovacuum keeps up.

// analyzeMinRows is how many inserted rows make the first analysis due.
const analyzeMinRows = 1000

// analyzeTimeout bounds one ANALYZE.
const analyzeTimeout = time.Minute

// analyzer counts the rows a process inserts and runs ANALYZE records when
// they make it due; one runs at a time.
type analyzer struct {
	mu       sync.Mutex
	inserted int64 // rows inserted since the last analysis began
	base     int64 // rows the table held at the last analysis
	running  bool
	runs     int // analyses run (tests)
	done     chan struct{}
}

// noteInserted adds n inserted rows and starts an analysis when due.
func (d *DB) noteInserted(n int) {
	if !d.d.postgres || n <= 0 {
		return
	}
	a := &d.analyze
	a.mu.Lock()
	a.inserted += int64(n)
	due := !a.running && a.inserted >= max(analyzeMinRows, a.base/4)
	if due {
		a.running, a.inserted = true, 0
		a.done = make(chan struct{})
	}
	a.mu.Unlock()
	if due {
		go d.runAnalyze()
	}
}

// runAnalyze analyzes the records table and records its size.
func (d *DB) runAnalyze() {
	a := &d.analyze
	ctx, cancel := context.WithTimeout(context.Background(), analyzeTimeout)
	defer cancel()
	var rows int64
	_, err := d.db.ExecContext(ctx, "ANALYZE records")
	if err == nil {
		err = d.db.QueryRowContext(ctx, "SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE oid = CAST('records' AS regclass)").Scan(&rows)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err == nil {
		a.base = rows
	}
	a.running = false
	a.runs++
	close(a.done)
}
