package loadbench

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// LogPair is one A/B pair of the request-logging comparison: the validated
// REST GET rate of a sandbox logging at info (one line per request) and of
// one logging at warn (no request lines), measured back to back, and the
// sandbox's CPU time per request in each run.
type LogPair struct {
	Info, Warn       Result
	InfoCPU, WarnCPU time.Duration
}

// CPUCost is the share of CPU per request the request lines add:
// InfoCPU/WarnCPU - 1. It moves less than Cost with the machine's other
// load, which takes throughput but not the sandbox's own CPU time.
func (p LogPair) CPUCost() float64 {
	if p.WarnCPU == 0 {
		return 0
	}
	return float64(p.InfoCPU)/float64(p.WarnCPU) - 1
}

// Cost is the share of the warn-level throughput the request lines cost:
// 1 - info/warn (0.08 is 8 %; negative when the info run happened to be
// faster).
func (p LogPair) Cost() float64 {
	if p.Warn.RPS() == 0 {
		return 0
	}
	return 1 - p.Info.RPS()/p.Warn.RPS()
}

// MedianCost is the median of the pairs' costs (LogPair.Cost or CPUCost): on a shared machine a
// single pair moves by more than the cost measured.
func MedianCost(pairs []LogPair, cost func(LogPair) float64) float64 {
	if len(pairs) == 0 {
		return 0
	}
	c := make([]float64, len(pairs))
	for i, p := range pairs {
		c[i] = cost(p)
	}
	slices.Sort(c)
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// LogCost measures what the request log line costs the validated REST GET
// end to end. It starts two sandboxes, one at --log-level info and one at
// warn, both writing their default text log to stderr, which goes to
// /dev/null as when a user redirects it; then it loads them alternately
// (info, warn, info, warn, ...) pairs times, so that a change in the
// machine's load hits both sides of a pair alike. The request journal is
// always on, in both.
func LogCost(ctx context.Context, cfg Config, pairs int) ([]LogPair, error) {
	var procs [2]*Process
	var reqs [2]Request
	defer func() {
		for _, p := range procs {
			if p != nil {
				p.Stop()
			}
		}
	}()
	for i, level := range []string{"info", "warn"} {
		p, err := Start(ctx, SandboxServer(cfg.Sandbox, level))
		if err != nil {
			return nil, err
		}
		procs[i] = p
		loads, err := loadsFor(ctx, "sandbox", p.Base)
		if err != nil {
			return nil, err
		}
		k := slices.IndexFunc(loads, func(l load) bool { return l.metric == "rest-get" })
		reqs[i] = loads[k].req
		// Warm up once, so that every measured run is a plain run whose
		// CPU time is all its own.
		warm := cfg
		warm.Duration = cfg.Duration/10 + 200*time.Millisecond
		if _, err := warm.runOnce(ctx, reqs[i]); err != nil {
			return nil, err
		}
	}
	out := make([]LogPair, 0, pairs)
	for i := 0; i < pairs; i++ {
		var rs [2]Result
		var cpu [2]time.Duration
		for j, level := range []string{"info", "warn"} {
			c0, err := procs[j].CPU()
			if err != nil {
				return nil, err
			}
			r, err := cfg.runOnce(ctx, reqs[j])
			if err != nil {
				return nil, err
			}
			c1, err := procs[j].CPU()
			if err != nil {
				return nil, err
			}
			if r.Errors > 0 {
				return nil, fmt.Errorf("log cost, %s: %d of %d requests failed; first: %s", level, r.Errors, r.Requests, r.FirstError)
			}
			rs[j] = r
			if r.Requests > 0 {
				cpu[j] = (c1 - c0) / time.Duration(r.Requests)
			}
		}
		out = append(out, LogPair{Info: rs[0], Warn: rs[1], InfoCPU: cpu[0], WarnCPU: cpu[1]})
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, "pair %d: info %.0f req/s, warn %.0f req/s, cost %.1f %% (CPU per request %s vs %s, +%.1f %%)\n",
				i+1, rs[0].RPS(), rs[1].RPS(), 100*out[i].Cost(), cpu[0], cpu[1], 100*out[i].CPUCost())
		}
	}
	return out, nil
}
