package sqlstore_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/internal/cputime"
)

// BenchmarkDurableDeliveries measures signed deliveries per second on a
// durable store: events published 100 at a time (TriggerN) to endpoints
// of one tenant, each delivered over keep-alive HTTP to a local receiver
// and its attempt recorded in the database. endpoints-1 is one webhook
// (its writes contend on one lock), endpoints-4 spreads the burst over
// four. The rate is reported as deliveries/s, and the CPU this process
// (engine and receiver, not a PostgreSQL server) spent per delivery as
// cpu-ns/delivery, which compares across runs on a shared machine where
// the rate does not, and the statements sent to the database per delivery
// (BEGIN and COMMIT included) as trips/delivery.
func BenchmarkDurableDeliveries(b *testing.B) {
	for _, e := range engines(b) {
		for _, endpoints := range []int{1, 4} {
			b.Run(e.name+"/endpoints-"+string(rune('0'+endpoints)), func(b *testing.B) {
				benchmarkDurable(b, e, endpoints)
			})
		}
	}
}

func benchmarkDurable(b *testing.B, e engine, endpoints int) {
	ctx := context.Background()
	db := e.open(b)
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
	}))
	defer rc.Close()
	clock := core.NewVirtualClock(nil)
	defer clock.Close()
	s, err := webhooks.New(webhooks.Config{Clock: clock, IDs: core.NewIDs(nil), Fixtures: fixtures.MustDefault(),
		AllowLocalTargets: true, Store: db.Webhooks(0, 0), QueueSize: 100_000})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	for range endpoints {
		if _, err := s.Subscribe(ctx, "acme", webhooks.Subscription{URL: rc.URL, Events: []string{"case.updated"}}); err != nil {
			b.Fatal(err)
		}
	}
	want := int64(b.N) * int64(endpoints)
	cpu0, cpuOK := cputime.Process()
	trips0 := db.RoundTrips()
	b.ResetTimer()
	for left := b.N; left > 0; left -= 100 {
		if _, err := s.TriggerN(ctx, "acme", "case.updated", nil, min(100, left)); err != nil {
			b.Fatal(err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := s.WaitIdle(wctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	trips := db.RoundTrips() - trips0
	if got.Load() != want {
		b.Fatalf("%d of %d deliveries arrived", got.Load(), want)
	}
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "deliveries/s")
	if cpu1, ok := cputime.Process(); ok && cpuOK {
		b.ReportMetric(float64(cpu1-cpu0)/float64(want), "cpu-ns/delivery")
	}
	b.ReportMetric(float64(trips)/float64(want), "trips/delivery")
}
