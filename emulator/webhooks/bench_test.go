package webhooks

import (
	"bytes"
	"context"
	"github.com/knogin/argus-sandbox/internal/cputime"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// benchData is the event payload the delivery benchmarks publish.
var benchData = map[string]any{"case": map[string]any{"id": "case_acme_1001", "status": "IN_PROGRESS"}}

// cpuMeter reports the process CPU time per operation of a benchmark as
// "cpu-ns/op": with the load generator, the receiver and other work
// sharing the cores, CPU per delivery compares across runs where the
// wall-clock rate does not.
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	c, ok := cputime.Process()
	return cpuMeter{start: c, ok: ok}
}

func (m cpuMeter) report(b *testing.B, ops int) {
	end, ok := cputime.Process()
	if !m.ok || !ok || ops == 0 {
		return
	}
	b.ReportMetric(float64(end-m.start)/float64(ops), "cpu-ns/op")
}

// measureDeliveries publishes b.N case.updated events to s, perCall at a
// time (Publish for 1, else TriggerN), waits until got counts them all
// and reports the process CPU per delivery.
func measureDeliveries(b *testing.B, s *Service, got *atomic.Int64, perCall int) {
	ctx := context.Background()
	cpu := startCPU()
	b.ResetTimer()
	for left := b.N; left > 0; left -= perCall {
		var err error
		if perCall == 1 {
			_, err = s.Publish(ctx, "acme", "case.updated", benchData)
		} else {
			_, err = s.TriggerN(ctx, "acme", "case.updated", nil, min(perCall, left))
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	waitIdle(b, s)
	b.StopTimer()
	cpu.report(b, b.N)
	if got.Load() != int64(b.N) {
		b.Fatalf("%d of %d deliveries arrived", got.Load(), b.N)
	}
}

// BenchmarkSignedDeliveries measures signed deliveries per second to a
// local receiver with the default engine configuration (each: sign, POST
// over keep-alive HTTP, record the attempt). The figure is reported as
// deliveries/s, and the CPU the whole process (engine and receiver) spent
// per delivery as cpu-ns/op.
func BenchmarkSignedDeliveries(b *testing.B) {
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		got.Add(1)
	}))
	defer rc.Close()
	s, _ := newTestService(b, nil)
	subscribe(b, s, "acme", rc.URL, "case.updated")
	measureDeliveries(b, s, &got, 1)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkDeliveryEngine measures the engine's own work per delivery,
// without the network: publish, queue, fault plan, sign, build the
// request, record the attempt and trim the diagnostics, against a
// transport that answers 204 at once. Events come one per Publish, or
// 100 per TriggerN (the control plane's count).
func BenchmarkDeliveryEngine(b *testing.B) {
	for _, bc := range []struct {
		name    string
		perCall int
	}{{"publish", 1}, {"trigger-count-100", 100}} {
		b.Run(bc.name, func(b *testing.B) {
			var got atomic.Int64
			s, _ := newTestService(b, nil)
			s.client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
				_, _ = io.Copy(io.Discard, r.Body)
				got.Add(1)
				return &http.Response{StatusCode: http.StatusNoContent, Header: http.Header{}, Body: http.NoBody, Request: r}, nil
			})
			subscribe(b, s, "acme", "http://127.0.0.1:9/hook", "case.updated")
			b.ReportAllocs()
			measureDeliveries(b, s, &got, bc.perCall)
		})
	}
}

// BenchmarkSignatureHeader signs a 1 KiB event with one secret and, as
// during a rotation, with two.
func BenchmarkSignatureHeader(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	one := []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
	two := append([]string{"whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"}, one...)
	for _, c := range []struct {
		name    string
		secrets []string
	}{{"one-secret", one}, {"rotation", two}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if h := signatureHeader(c.secrets, "msg_2Lq4Wc0E5Rj3f8KzU9a", 1732608000, body); len(h) < sigLen {
					b.Fatal("short signature header")
				}
			}
		})
	}
}
