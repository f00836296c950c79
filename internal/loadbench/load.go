// Package loadbench is the end-to-end benchmark behind cmd/loadbench: it
// starts server processes, measures cold start and memory, and drives HTTP
// load against them with a closed-loop Go load generator.
package loadbench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Request describes the request a load run repeats.
type Request struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
	// Want is the expected status; any other counts as an error.
	Want int
}

// Result is the outcome of one load run.
type Result struct {
	Requests int
	Errors   int
	Elapsed  time.Duration
	P50, P99 time.Duration
	// FirstError describes the first failure, for diagnosis.
	FirstError string
}

// RPS is the successful request rate.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests-r.Errors) / r.Elapsed.Seconds()
}

// maxSamples bounds the latency samples each worker keeps (reservoir of the
// first samples), so memory stays flat on long runs.
const maxSamples = 1 << 18

// Load sends req from concurrency workers, each waiting for its answer
// before sending the next (closed loop), for d after a short warm-up.
func Load(ctx context.Context, req Request, concurrency int, d time.Duration) Result {
	measure(ctx, req, concurrency, d/10+200*time.Millisecond)
	return measure(ctx, req, concurrency, d)
}

// measure is one closed-loop run of Load, without warm-up.
func measure(ctx context.Context, req Request, concurrency int, d time.Duration) Result {
	tr := &http.Transport{
		MaxIdleConns: concurrency, MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext, DisableCompression: true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	runCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	workers := run(runCtx, client, req, concurrency)
	res := Result{Elapsed: time.Since(start)}
	var all []time.Duration
	for _, w := range workers {
		res.Requests += w.n
		res.Errors += w.errors
		if res.FirstError == "" {
			res.FirstError = w.firstErr
		}
		all = append(all, w.samples...)
	}
	slices.Sort(all)
	if len(all) > 0 {
		res.P50 = all[len(all)/2]
		res.P99 = all[len(all)*99/100]
	}
	return res
}

type worker struct {
	n, errors int
	samples   []time.Duration
	firstErr  string
}

func run(ctx context.Context, client *http.Client, req Request, concurrency int) []*worker {
	workers := make([]*worker, concurrency)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				t0 := time.Now()
				err := once(ctx, client, req)
				if ctx.Err() != nil {
					return
				}
				w.n++
				if err != nil {
					w.errors++
					if w.firstErr == "" {
						w.firstErr = err.Error()
					}
					continue
				}
				if len(w.samples) < maxSamples {
					w.samples = append(w.samples, time.Since(t0))
				}
			}
		}()
	}
	wg.Wait()
	return workers
}

func once(ctx context.Context, client *http.Client, req Request) error {
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	r, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		return err
	}
	for k, v := range req.Header {
		r.Header[k] = v
	}
	resp, err := client.Do(r)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	want := req.Want
	if want == 0 {
		want = http.StatusOK
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d, want %d", req.Method, req.URL, resp.StatusCode, want)
	}
	return nil
}
