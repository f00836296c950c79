package loadbench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// SoakSample is the sandbox's state at one point of a soak run.
type SoakSample struct {
	Elapsed   time.Duration
	RSS       int64
	Delivered int64
}

// Soak starts the sandbox, subscribes a local receiver and triggers events
// through the control plane (eventsPerTrigger per request, so the delivery
// queue stays full) for d with the configured generator, sampling
// the sandbox's RSS and the deliveries received every interval. Each sample
// is printed to out as it is taken, so a long run can be watched. Memory
// should stay flat once the bounded diagnostics retention is full.
func Soak(ctx context.Context, cfg Config, d, interval time.Duration, out io.Writer) ([]SoakSample, error) {
	p, err := Start(ctx, SandboxServer(cfg.Sandbox, cfg.LogLevel))
	if err != nil {
		return nil, err
	}
	defer p.Stop()
	rc, stop, err := listenReceiver(ctx, p.Base)
	if err != nil {
		return nil, err
	}
	defer stop()
	run := cfg
	run.Duration = d
	done := make(chan error, 1)
	go func() {
		r, err := run.runOnce(ctx, triggerRequest(p.Base))
		if err == nil && r.Errors > 0 {
			err = fmt.Errorf("%d of %d triggers failed: %s", r.Errors, r.Requests, r.FirstError)
		}
		done <- err
	}()
	start := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var samples []SoakSample
	sample := func() error {
		rss, err := p.RSS()
		if err != nil {
			return err
		}
		s := SoakSample{Elapsed: time.Since(start).Round(time.Second), RSS: rss, Delivered: rc.got.Load()}
		samples = append(samples, s)
		fmt.Fprintf(out, "soak t=%s rss=%.1fMB delivered=%d\n", s.Elapsed, float64(s.RSS)/(1<<20), s.Delivered)
		return nil
	}
	for {
		select {
		case err := <-done:
			if err != nil {
				return samples, err
			}
			if err := waitIdle(ctx, p.Base); err != nil {
				return samples, err
			}
			return samples, sample()
		case <-tick.C:
			if err := sample(); err != nil {
				return samples, err
			}
		case <-ctx.Done():
			return samples, ctx.Err()
		}
	}
}
