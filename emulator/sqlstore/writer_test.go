package sqlstore

import (
	"context"
	"sync"
	"testing"
)

// TestSQLiteWritesRunOnTheWriterConnection checks that every SQLite write,
// a transaction (write) or a lone statement (writeAlone), runs on the one
// writer connection, the connection with the larger page cache, while
// reads keep the pool busy; another connection's write would empty that
// cache (useWriter).
func TestSQLiteWritesRunOnTheWriterConnection(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 { // readers holding pool connections meanwhile
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				_ = d.read().queryRow(ctx, "SELECT COUNT(*) FROM records").Scan(&n)
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	for i := range 50 {
		for name, run := range map[string]func(func(conn) error) error{
			"write":      func(fn func(conn) error) error { return d.write(ctx, nil, fn) },
			"writeAlone": func(fn func(conn) error) error { return d.writeAlone(ctx, fn) },
		} {
			var kib int
			if err := run(func(c conn) error {
				if _, err := c.exec(ctx, "INSERT INTO meta (key, value) VALUES (?, '') ON CONFLICT DO NOTHING", name+string(rune('a'+i%26))); err != nil {
					return err
				}
				return c.queryRow(ctx, "PRAGMA cache_size").Scan(&kib)
			}); err != nil {
				t.Fatal(err)
			}
			if kib != -writerCacheKiB {
				t.Fatalf("%s %d ran on a connection with cache_size %d, not the writer's -%d", name, i, kib, writerCacheKiB)
			}
		}
	}
}
