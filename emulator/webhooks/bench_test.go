package webhooks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// BenchmarkSignedDeliveries measures signed deliveries per second to a
// local receiver (each: sign, POST over keep-alive HTTP, record the
// attempt). The figure is reported as deliveries/s.
func BenchmarkSignedDeliveries(b *testing.B) {
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
	}))
	defer rc.Close()
	s, _ := newTestService(b, func(c *Config) { c.PerEndpointConcurrency = 8 })
	subscribe(b, s, "acme", rc.URL, "case.updated")
	data := map[string]any{"case": map[string]any{"id": "case_acme_1001", "status": "IN_PROGRESS"}}
	b.ResetTimer()
	for range b.N {
		if _, err := s.Publish(context.Background(), "acme", "case.updated", data); err != nil {
			b.Fatal(err)
		}
	}
	waitIdle(b, s)
	b.StopTimer()
	if got.Load() != int64(b.N) {
		b.Fatalf("receiver got %d of %d", got.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
