package core

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// Clock is the single source of time for the emulator. Handlers never call
// time.Now directly, so the control plane can move time and every
// time-dependent rule (token expiry, code lifetime, webhook retries) follows.
type Clock interface {
	// Now reports the current (possibly virtual) time.
	Now() time.Time
	// AfterFunc runs f once the clock has advanced by d: in its own
	// goroutine as time passes, or in the goroutine that moves the clock
	// when a move walks through it (VirtualClock.Advance), which then
	// waits for f to return. f must not change the clock.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled call returned by Clock.AfterFunc.
type Timer interface {
	// Stop prevents the call from running; it reports whether it did so.
	Stop() bool
}

// ClockState describes a VirtualClock for the control plane.
type ClockState struct {
	Now     time.Time `json:"now"`
	Frozen  bool      `json:"frozen"`
	Offset  string    `json:"offset"`
	Pending int       `json:"pending_timers"`
}

// VirtualClock follows real time shifted by an offset, can be frozen, moved
// forward or set. Timers fire when virtual time reaches their due time, both
// as real time passes and when the clock is moved forward. A move forward
// walks through the window like a test clock: the timers due inside it run
// one due time after another, with the clock at that due time, so a timer
// that a callback schedules inside the window runs within the same move.
type VirtualClock struct {
	real func() time.Time

	// walk serialises the changes of the clock (Advance, Set, Freeze,
	// Unfreeze, Reset), so a walk runs to its end before the clock moves
	// otherwise. Timer callbacks must therefore not change the clock.
	walk sync.Mutex

	// pos is what Now reads, republished by every change of offset or
	// frozen state, so that Now takes no lock: it is called several times
	// per request, while the mutex also serialises the timers.
	pos atomic.Pointer[clockPos]

	mu       sync.Mutex
	offset   time.Duration
	frozen   bool
	frozenAt time.Time
	timers   timerHeap
	seq      uint64
	wake     *time.Timer
	// wakeDue and wakeOffset are the virtual due time and the offset
	// wake was armed for.
	wakeDue    time.Time
	wakeOffset time.Duration
	closed     bool
	// walkSteps and walkBudget bound one walk: the callbacks run (a
	// count) and the real time spent. What is left then fires at once
	// at the end of the window.
	walkSteps  int
	walkBudget time.Duration
	// onChange hears of every change made through Advance, Set, Freeze,
	// Unfreeze and Reset (not Restore), with c.walk held, so the changes
	// of one clock reach it in order.
	onChange atomic.Pointer[func(ClockPos)]
	// outside is the work a walk runs besides the timers (SetWalkSource).
	outside atomic.Pointer[WalkSource]
}

// WalkSource is work scheduled on a clock's time that is not among its
// timers: on a clock several processes share, what the other processes
// scheduled (a webhook retry another replica's attempt left in the
// database). A walk through the clock's timers (Advance, Set) runs it in
// due order with them, at its due time, so moving the clock on one process
// walks through the whole cluster's work as through its own.
type WalkSource interface {
	// NextDue reports the earliest due time, not after until, of the
	// work waiting; false when none is.
	NextDue(until time.Time) (time.Time, bool)
	// RunDue runs the work due at now, the clock's time, and returns once
	// it is done; it reports whether it found any. It must not change the
	// clock.
	RunDue(now time.Time) bool
}

// maxWalkMisses is how many times in a row a walk's source may name work
// due at the same time that it then does not find.
const maxWalkMisses = 3

// SetWalkSource makes the later walks of the clock run src's work too
// (see WalkSource); nil stops it.
func (c *VirtualClock) SetWalkSource(src WalkSource) {
	if src == nil {
		c.outside.Store(nil)
		return
	}
	c.outside.Store(&src)
}

// ClockPos is the part of a VirtualClock's state a durable store keeps:
// its offset from real time, or the time it is frozen at.
type ClockPos struct {
	Offset   time.Duration `json:"offset_ns"`
	Frozen   bool          `json:"frozen,omitempty"`
	FrozenAt time.Time     `json:"frozen_at,omitzero"`
}

// Pos reports the clock's offset and frozen state.
func (c *VirtualClock) Pos() ClockPos {
	p := c.pos.Load()
	return ClockPos{Offset: p.offset, Frozen: p.frozen, FrozenAt: p.frozenAt}
}

// OnChange makes f hear of every later change of the clock through
// Advance, Set, Freeze, Unfreeze and Reset, once the change is made (a
// walk through the timers included), in the order of the changes; nil
// stops it. Restore does not call it.
func (c *VirtualClock) OnChange(f func(ClockPos)) {
	if f == nil {
		c.onChange.Store(nil)
		return
	}
	c.onChange.Store(&f)
}

// changed tells the OnChange listener of a change. Callers hold c.walk
// and not c.mu.
func (c *VirtualClock) changed() {
	if f := c.onChange.Load(); f != nil {
		(*f)(c.Pos())
	}
}

// Restore puts the clock at p, as stored earlier or by another process:
// no walk through the timers (a move forward starts those due at once, as
// real time passing would) and no OnChange.
func (c *VirtualClock) Restore(p ClockPos) {
	c.walk.Lock()
	defer c.walk.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset, c.frozen, c.frozenAt = p.Offset, p.Frozen, p.FrozenAt
	c.publishLocked()
	c.fireDueLocked()
}

// Bounds of one walk through the timers of a clock move. The budget stays
// well below the HTTP write timeout of the control plane that moves the
// clock.
const (
	DefaultWalkSteps  = 100000
	DefaultWalkBudget = 30 * time.Second
)

var _ Clock = (*VirtualClock)(nil)

// NewVirtualClock returns a running clock that starts at real time. real may
// be nil, meaning time.Now.
func NewVirtualClock(real func() time.Time) *VirtualClock {
	if real == nil {
		real = time.Now
	}
	c := &VirtualClock{real: real, walkSteps: DefaultWalkSteps, walkBudget: DefaultWalkBudget}
	c.publishLocked()
	return c
}

// clockPos is an immutable copy of the clock's offset and frozen state.
type clockPos struct {
	offset   time.Duration
	frozen   bool
	frozenAt time.Time
}

// publishLocked makes the current offset and frozen state visible to Now.
// Callers hold c.mu (or own c exclusively).
func (c *VirtualClock) publishLocked() {
	c.pos.Store(&clockPos{offset: c.offset, frozen: c.frozen, frozenAt: c.frozenAt})
}

// Now reports the virtual time.
func (c *VirtualClock) Now() time.Time {
	p := c.pos.Load()
	if p.frozen {
		return p.frozenAt
	}
	return c.real().Add(p.offset)
}

func (c *VirtualClock) nowLocked() time.Time {
	if c.frozen {
		return c.frozenAt
	}
	return c.real().Add(c.offset)
}

// AfterFunc schedules f to run once virtual time has moved forward by d
// (see Clock.AfterFunc).
func (c *VirtualClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &vtimer{clock: c, due: c.nowLocked().Add(d), f: f, seq: c.seq, index: -1}
	heap.Push(&c.timers, t)
	c.fireDueLocked()
	return t
}

// Advance moves the clock forward by d (a negative d counts as 0) and
// returns the new time once every timer due within the window has run:
// timers run in due order, those of one due time together, with the clock
// set to their due time; the walk waits for each to return before it moves
// on, so work a callback schedules inside the window runs within this
// advance too (Stripe's test clocks advance the same way). The walk is
// bounded (DefaultWalkSteps callbacks, DefaultWalkBudget of real time);
// what is left then fires at once, at the end of the window.
func (c *VirtualClock) Advance(d time.Duration) time.Time {
	c.walk.Lock()
	defer c.walk.Unlock()
	defer c.changed()
	return c.walkTo(c.Now().Add(max(d, 0)))
}

// Set moves the clock to t. Moving forward walks through the timers due on
// the way as Advance does. Moving backwards is allowed; timers then wait
// for their due time again.
func (c *VirtualClock) Set(t time.Time) time.Time {
	c.walk.Lock()
	defer c.walk.Unlock()
	defer c.changed()
	c.mu.Lock()
	if t.After(c.nowLocked()) {
		c.mu.Unlock()
		return c.walkTo(t)
	}
	defer c.mu.Unlock()
	c.moveLocked(t)
	c.fireDueLocked()
	return c.nowLocked()
}

// walkTo moves the clock forward to target through every timer due on the
// way (see Advance). Callers hold c.walk. (c.mu is released by hand, not
// deferred: it is not held while a callback runs, should one panic.)
func (c *VirtualClock) walkTo(target time.Time) time.Time {
	var src WalkSource
	if p := c.outside.Load(); p != nil {
		src = *p
	}
	c.mu.Lock()
	deadline := c.real().Add(c.walkBudget)
	misses, missed := 0, time.Time{}
	for steps := 0; !c.closed && steps < c.walkSteps && c.real().Before(deadline); {
		if src != nil {
			// The source is asked without c.mu: it may read a database.
			c.mu.Unlock()
			at, ok := src.NextDue(target)
			c.mu.Lock()
			if ok && (len(c.timers) == 0 || !at.After(c.timers[0].due)) {
				// Outside work first at a due time it shares with timers:
				// a timer for the same work then finds it done.
				if at.After(c.nowLocked()) {
					c.moveLocked(at)
				}
				now := c.nowLocked()
				c.mu.Unlock()
				found := src.RunDue(now)
				c.mu.Lock()
				steps++
				if found {
					misses = 0
				} else {
					// Work taken elsewhere between the two calls is
					// missed once; a source that keeps naming work due
					// at the same time that it then does not find is
					// left out of the rest of the walk.
					if misses == 0 || !at.Equal(missed) {
						misses, missed = 0, at
					}
					if misses++; misses == maxWalkMisses {
						src = nil
					}
				}
				continue
			}
		}
		if len(c.timers) == 0 || c.timers[0].due.After(target) {
			break
		}
		due := c.timers[0].due
		if due.After(c.nowLocked()) {
			c.moveLocked(due)
		}
		var batch []*vtimer
		for len(c.timers) > 0 && !c.timers[0].due.After(due) {
			t := heap.Pop(&c.timers).(*vtimer)
			t.fired = true
			batch = append(batch, t)
		}
		steps += len(batch)
		// The callbacks take their own locks (and may schedule timers):
		// they run without c.mu.
		c.mu.Unlock()
		runAll(batch)
		c.mu.Lock()
	}
	if target.After(c.nowLocked()) {
		c.moveLocked(target)
	}
	c.fireDueLocked()
	now := c.nowLocked()
	c.mu.Unlock()
	return now
}

// runAll runs the callbacks of timers due at the same time concurrently
// and returns when all have returned.
func runAll(batch []*vtimer) {
	if len(batch) == 1 {
		batch[0].f()
		return
	}
	var wg sync.WaitGroup
	for _, t := range batch {
		wg.Go(t.f)
	}
	wg.Wait()
}

// moveLocked sets the virtual time to t, frozen or running.
func (c *VirtualClock) moveLocked(t time.Time) {
	if c.frozen {
		c.frozenAt = t
	} else {
		c.offset = t.Sub(c.real())
	}
	c.publishLocked()
}

// Freeze stops the clock at its current time until Unfreeze.
func (c *VirtualClock) Freeze() {
	c.walk.Lock()
	defer c.walk.Unlock()
	defer c.changed()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen {
		c.frozenAt = c.nowLocked()
		c.frozen = true
		c.publishLocked()
	}
	c.fireDueLocked()
}

// Unfreeze lets the clock run again from where it was frozen.
func (c *VirtualClock) Unfreeze() {
	c.walk.Lock()
	defer c.walk.Unlock()
	defer c.changed()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		c.offset = c.frozenAt.Sub(c.real())
		c.frozen = false
		c.publishLocked()
	}
	c.fireDueLocked()
}

// Reset returns the clock to real time, running and with no offset. Pending
// timers are kept.
func (c *VirtualClock) Reset() {
	c.walk.Lock()
	defer c.walk.Unlock()
	defer c.changed()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset, c.frozen = 0, false
	c.publishLocked()
	c.fireDueLocked()
}

// State reports the clock for the control plane.
func (c *VirtualClock) State() ClockState {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.nowLocked()
	return ClockState{Now: now, Frozen: c.frozen, Offset: now.Sub(c.real()).Round(time.Millisecond).String(), Pending: len(c.timers)}
}

// Close stops the background wake-up; pending timers never fire afterwards.
func (c *VirtualClock) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.wake != nil {
		c.wake.Stop()
	}
	c.timers = nil
}

// fireDueLocked starts every due timer and arms a real timer for the next.
// During a walk, the walk has taken the timers due at the time it set, so
// only those that real time brings due start here, as on a running clock.
func (c *VirtualClock) fireDueLocked() {
	if c.closed {
		return
	}
	now := c.nowLocked()
	for len(c.timers) > 0 && !c.timers[0].due.After(now) {
		t := heap.Pop(&c.timers).(*vtimer)
		t.fired = true
		go t.f()
	}
	if len(c.timers) == 0 || c.frozen {
		if c.wake != nil {
			c.wake.Stop()
			c.wake = nil
		}
		return
	}
	// Most new timers are not the earliest (a delivery engine arms one
	// per attempt): keep the real timer when it already wakes the clock
	// for the earliest due time at the same offset.
	next := c.timers[0].due
	if c.wake != nil && c.wakeDue.Equal(next) && c.wakeOffset == c.offset {
		return
	}
	if c.wake != nil {
		c.wake.Stop()
	}
	var w *time.Timer
	w = time.AfterFunc(next.Sub(now), func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.wake == w {
			c.wake = nil
		}
		c.fireDueLocked()
	})
	c.wake, c.wakeDue, c.wakeOffset = w, next, c.offset
}

type vtimer struct {
	clock *VirtualClock
	due   time.Time
	f     func()
	seq   uint64
	index int
	fired bool
}

func (t *vtimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.fired || t.index < 0 {
		return false
	}
	heap.Remove(&c.timers, t.index)
	t.index = -1
	return true
}

type timerHeap []*vtimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].due.Equal(h[j].due) {
		return h[i].seq < h[j].seq
	}
	return h[i].due.Before(h[j].due)
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*vtimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
