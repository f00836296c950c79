package webhooks

// fifo is a first-in first-out queue over one slice. Popping advances a
// head index instead of reslicing, and the live part moves back to the
// front once the popped part is the larger, so a queue that stays long
// (a full delivery queue holds 10,000 jobs) reuses its array instead of
// reallocating and copying it every few thousand jobs, and holds no
// popped item reachable.
type fifo[T any] struct {
	items []T
	head  int
}

func (f *fifo[T]) len() int { return len(f.items) - f.head }

func (f *fifo[T]) push(v T) { f.items = append(f.items, v) }

// pop removes and returns the oldest item; the queue must not be empty.
func (f *fifo[T]) pop() T {
	var zero T
	v := f.items[f.head]
	f.items[f.head] = zero
	f.head++
	switch {
	case f.head == len(f.items):
		f.items, f.head = f.items[:0], 0
	case f.head >= 32 && 2*f.head >= len(f.items):
		n := copy(f.items, f.items[f.head:])
		clear(f.items[n:])
		f.items, f.head = f.items[:n], 0
	}
	return v
}

// all returns the queued items, oldest first, without removing them.
func (f *fifo[T]) all() []T { return f.items[f.head:] }

// reset empties the queue and lets go of its array.
func (f *fifo[T]) reset() { f.items, f.head = nil, 0 }
