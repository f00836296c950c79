package sqlstore

import (
	"context"
	"slices"
	"sync"
)

// group runs concurrent calls' requests in batches: a call that finds
// fewer than most batches running runs one with what is queued, its own
// request included, then hands the next batches to a goroutine of their
// own; calls arriving meanwhile queue and wait for the batch that takes
// them, which starts after they were queued. The update batcher (one
// write for many attempt records) and the shared webhook reads use it.
type group[R any] struct {
	mu      sync.Mutex
	queue   []R
	running int
}

// submit queues r and, when fewer than most batches run, runs batches of
// the queue until it is empty: take says how many of the queued requests
// (at least one) the next batch holds, run runs them. A batch outlives
// the call that started it, so it runs without that call's cancellation.
func (g *group[R]) submit(ctx context.Context, r R, most int, take func(queued []R) int, run func(context.Context, []R)) {
	g.mu.Lock()
	g.queue = append(g.queue, r)
	lead := g.running < most
	if lead {
		g.running++
	}
	g.mu.Unlock()
	if !lead {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if g.runNext(ctx, take, run) {
		go func() {
			for g.runNext(ctx, take, run) {
			}
		}()
	}
}

// runNext runs one batch of what is queued and reports whether more is
// queued (false: this runner has ended).
func (g *group[R]) runNext(ctx context.Context, take func([]R) int, run func(context.Context, []R)) bool {
	g.mu.Lock()
	if len(g.queue) == 0 { // another runner took it
		g.running--
		g.mu.Unlock()
		return false
	}
	n := take(g.queue)
	batch := slices.Clone(g.queue[:n])
	g.queue = slices.Delete(g.queue, 0, n)
	g.mu.Unlock()
	run(ctx, batch)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.running--
		return false
	}
	return true
}
