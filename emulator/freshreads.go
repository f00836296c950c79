package emulator

import (
	"context"
	"sync"
	"time"
)

// freshReads shares one database read among the callers that arrive
// while another read of the same thing is under way, without ever
// answering a caller with a read that began before it called: a read that
// began earlier may miss a change committed just before the call, and a
// replica must see every change another replica made before the request
// arrived. So a caller that finds a read running waits for the next one,
// which starts as soon as the running one ends and serves every caller
// that arrived meanwhile. Under load the database then sees about one
// read per read's duration instead of one per request, each caller
// waiting at most two reads; an idle process reads once per call, as
// before.
type freshReads[T any] struct {
	read func(context.Context) (T, error)
	// timeout bounds a shared read, which no single caller's context
	// owns.
	timeout time.Duration

	mu      sync.Mutex
	running bool
	next    *flight[T] // the read that starts when the running one ends
}

// flight is one read and, once done is closed, its outcome.
type flight[T any] struct {
	done    chan struct{}
	waiters int // callers sharing it (tests)
	v       T
	err     error
}

// get returns the outcome of a read that began after get was called.
func (f *freshReads[T]) get(ctx context.Context) (T, error) {
	f.mu.Lock()
	if !f.running {
		// Nothing running: this caller reads for itself now; callers
		// arriving meanwhile queue for the next read.
		f.running = true
		f.mu.Unlock()
		v, err := f.read(ctx)
		f.handOver()
		return v, err
	}
	fl := f.next
	if fl == nil {
		fl = &flight[T]{done: make(chan struct{})}
		f.next = fl
	}
	fl.waiters++
	f.mu.Unlock()
	select {
	case <-fl.done:
		return fl.v, fl.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// handOver ends the running read: the queued read, if any, starts now.
func (f *freshReads[T]) handOver() {
	f.mu.Lock()
	next := f.next
	f.next = nil
	f.running = next != nil
	f.mu.Unlock()
	if next != nil {
		go f.run(next)
	}
}

// run makes the queued read fl for its callers, then hands over.
func (f *freshReads[T]) run(fl *flight[T]) {
	ctx, cancel := context.WithTimeout(context.Background(), f.timeout)
	fl.v, fl.err = f.read(ctx)
	cancel()
	close(fl.done)
	f.handOver()
}
