package core

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeReal is a controllable "real" time source for the VirtualClock.
type fakeReal struct {
	mu sync.Mutex
	t  time.Time
}

func (f *fakeReal) now() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.t }

func TestVirtualClockAdvanceSetFreeze(t *testing.T) {
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	real := &fakeReal{t: base}
	c := NewVirtualClock(real.now)
	defer c.Close()
	if got := c.Now(); !got.Equal(base) {
		t.Fatalf("Now = %v, want real time %v", got, base)
	}
	c.Advance(time.Hour)
	if got := c.Now(); !got.Equal(base.Add(time.Hour)) {
		t.Errorf("after Advance: %v", got)
	}
	c.Freeze()
	real.t = base.Add(10 * time.Minute)
	if got := c.Now(); !got.Equal(base.Add(time.Hour)) {
		t.Errorf("frozen clock moved: %v", got)
	}
	c.Advance(time.Minute)
	if got := c.Now(); !got.Equal(base.Add(61 * time.Minute)) {
		t.Errorf("Advance while frozen: %v", got)
	}
	c.Unfreeze()
	real.t = base.Add(20 * time.Minute)
	if got := c.Now(); !got.Equal(base.Add(71 * time.Minute)) {
		t.Errorf("after Unfreeze the clock should run from where it stopped: %v", got)
	}
	target := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c.Set(target)
	if got := c.Now(); !got.Equal(target) {
		t.Errorf("Set: %v", got)
	}
	c.Reset()
	if got := c.Now(); !got.Equal(real.t) {
		t.Errorf("Reset: %v, want %v", got, real.t)
	}
	if st := c.State(); st.Frozen || st.Pending != 0 {
		t.Errorf("State = %+v", st)
	}
}

func TestVirtualClockTimersFireInDueOrderOnAdvance(t *testing.T) {
	c := NewVirtualClock(nil)
	defer c.Close()
	c.Freeze()
	var mu sync.Mutex
	var fired []string
	var wg sync.WaitGroup
	add := func(name string, d time.Duration) Timer {
		wg.Add(1)
		return c.AfterFunc(d, func() {
			mu.Lock()
			fired = append(fired, name)
			mu.Unlock()
			wg.Done()
		})
	}
	add("later", 2*time.Hour)
	add("sooner", time.Hour)
	stopped := add("stopped", 30*time.Minute)
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer returned false")
	}
	wg.Done() // the stopped timer never runs
	if stopped.Stop() {
		t.Error("second Stop returned true")
	}
	if st := c.State(); st.Pending != 2 {
		t.Errorf("pending = %d, want 2", st.Pending)
	}
	c.Advance(90 * time.Minute)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(fired) == 1 })
	c.Advance(time.Hour)
	wg.Wait()
	if len(fired) != 2 || fired[0] != "sooner" || fired[1] != "later" {
		t.Errorf("fired = %v, want [sooner later]", fired)
	}
}

func TestVirtualClockTimerFiresAsRealTimePasses(t *testing.T) {
	c := NewVirtualClock(nil)
	defer c.Close()
	done := make(chan struct{})
	c.AfterFunc(5*time.Millisecond, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("timer did not fire as real time passed")
	}
}

// TestVirtualClockRealWakeFollowsTheEarliestTimer: the real wake-up is
// kept when a later timer arrives, moved when an earlier one does, and
// re-armed for the next timer after it fires or when the clock moves.
func TestVirtualClockRealWakeFollowsTheEarliestTimer(t *testing.T) {
	c := NewVirtualClock(nil)
	defer c.Close()
	fired := make(chan string, 4)
	after := func(d time.Duration, name string) Timer { return c.AfterFunc(d, func() { fired <- name }) }
	after(time.Hour, "hour")
	after(40*time.Millisecond, "40ms") // earlier than the armed wake-up
	after(30*time.Minute, "30m")       // later: the wake-up stays
	after(60*time.Millisecond, "60ms") // fires after 40ms, from the re-armed wake-up
	stopped := after(50*time.Millisecond, "stopped")
	stopped.Stop()
	// Both fire as real time passes; on a busy machine they may become due
	// at the same wake-up, and due timers run on their own goroutines, so
	// their order is not asserted.
	got := map[string]bool{}
	for range 2 {
		select {
		case name := <-fired:
			got[name] = true
		case <-time.After(5 * time.Second):
			t.Fatalf("fired %v; the 40ms and 60ms timers did not both fire as real time passed", got)
		}
	}
	if !got["40ms"] || !got["60ms"] {
		t.Fatalf("fired %v, want 40ms and 60ms", got)
	}
	c.Advance(29*time.Minute + 59*time.Second) // the next one is now a second away in real time
	select {
	case got := <-fired:
		if got != "30m" {
			t.Fatalf("fired %q, want 30m", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("30m did not fire after the clock moved close to it")
	}
}

func TestVirtualClockZeroDelayAndClose(t *testing.T) {
	c := NewVirtualClock(nil)
	c.Freeze()
	done := make(chan struct{})
	c.AfterFunc(0, func() { close(done) })
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a zero-delay timer did not fire")
	}
	c.AfterFunc(time.Minute, func() { t.Error("a timer fired after Close") })
	c.Close()
	c.Advance(time.Hour)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestVirtualClockAdvanceWalksTimersInOrder: an advance runs every timer
// that falls due inside it, in due order, each with the clock at its own
// due time, including timers that the callbacks themselves schedule
// inside the window; it returns once they have run.
func TestVirtualClockAdvanceWalksTimersInOrder(t *testing.T) {
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	c := NewVirtualClock((&fakeReal{t: base}).now)
	defer c.Close()
	var seen []string
	var chain func(name string, n int) func()
	chain = func(name string, n int) func() {
		return func() {
			seen = append(seen, fmt.Sprintf("%s%d@%s", name, n, c.Now().Sub(base)))
			if n < 5 {
				c.AfterFunc(time.Hour, chain(name, n+1)) // the next retry, scheduled by this one
			}
		}
	}
	c.AfterFunc(time.Hour, chain("a", 1))
	c.AfterFunc(150*time.Minute, chain("b", 1))
	c.AfterFunc(10*time.Hour, func() { seen = append(seen, "beyond the window") })
	if got := c.Advance(4 * time.Hour); !got.Equal(base.Add(4 * time.Hour)) {
		t.Errorf("Advance returned %v, want %v", got, base.Add(4*time.Hour))
	}
	want := []string{"a1@1h0m0s", "a2@2h0m0s", "b1@2h30m0s", "a3@3h0m0s", "b2@3h30m0s", "a4@4h0m0s"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("fired %v, want %v", seen, want)
	}
	if st := c.State(); st.Pending != 3 {
		t.Errorf("pending = %d, want 3 (a5, b3 and the one beyond)", st.Pending)
	}
}

// TestVirtualClockWalkIsBounded: a timer that keeps scheduling itself
// inside the window cannot hold an advance forever; what the walk leaves
// runs at the end of the window, as timers did before walking.
func TestVirtualClockWalkIsBounded(t *testing.T) {
	real := &fakeReal{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	c := NewVirtualClock(real.now)
	defer c.Close()
	c.walkSteps = 100
	var mu sync.Mutex
	fired := 0
	var again func()
	again = func() {
		mu.Lock()
		fired++
		mu.Unlock()
		c.AfterFunc(time.Second, again)
	}
	c.AfterFunc(time.Second, again)
	c.Advance(time.Hour)
	mu.Lock()
	n := fired
	mu.Unlock()
	if n < 100 || n > 101 {
		t.Errorf("the walk ran %d callbacks, want the bound of 100 (and the one fired at the end)", n)
	}
	if got := c.Now(); !got.Equal(real.now().Add(time.Hour)) {
		t.Errorf("Now = %v, want the end of the window", got)
	}
}

// outsideWork is a WalkSource: work held elsewhere (another process's
// retries), each item run once and rescheduling itself every 90 minutes
// up to three runs, like a retry chain kept by another replica.
type outsideWork struct {
	c     *VirtualClock
	base  time.Time
	mu    sync.Mutex
	due   map[string]time.Time
	runs  map[string]int
	seen  *[]string
	steal bool // RunDue finds nothing: another process took the work
	asked int
}

func (o *outsideWork) NextDue(until time.Time) (time.Time, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.asked++
	var next time.Time
	ok := false
	for _, at := range o.due {
		if !at.After(until) && (!ok || at.Before(next)) {
			next, ok = at, true
		}
	}
	return next, ok
}

func (o *outsideWork) RunDue(now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.steal {
		return false
	}
	found := false
	for name, at := range o.due {
		if at.After(now) {
			continue
		}
		found = true
		o.runs[name]++
		*o.seen = append(*o.seen, fmt.Sprintf("%s%d@%s", name, o.runs[name], o.c.Now().Sub(o.base)))
		if o.runs[name] < 3 {
			o.due[name] = now.Add(90 * time.Minute)
		} else {
			delete(o.due, name)
		}
	}
	return found
}

// TestVirtualClockWalkRunsOutsideWorkInOrder: a walk runs a WalkSource's
// work in due order with the clock's own timers, each at its due time,
// work the source reschedules inside the window included; outside work
// due with a timer runs first.
func TestVirtualClockWalkRunsOutsideWorkInOrder(t *testing.T) {
	base := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	c := NewVirtualClock((&fakeReal{t: base}).now)
	defer c.Close()
	var seen []string
	src := &outsideWork{c: c, base: base, due: map[string]time.Time{"x": base.Add(30 * time.Minute)}, runs: map[string]int{}, seen: &seen}
	c.SetWalkSource(src)
	c.AfterFunc(time.Hour, func() { seen = append(seen, "t1@"+c.Now().Sub(base).String()) })
	c.AfterFunc(2*time.Hour, func() { seen = append(seen, "t2@"+c.Now().Sub(base).String()) })
	c.Advance(4 * time.Hour)
	want := []string{"x1@30m0s", "t1@1h0m0s", "x2@2h0m0s", "t2@2h0m0s", "x3@3h30m0s"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("ran %v, want %v", seen, want)
	}
	if got := c.Now(); !got.Equal(base.Add(4 * time.Hour)) {
		t.Errorf("Now = %v, want the end of the window", got)
	}

	// A source naming work it then does not find is asked three times,
	// not for the rest of the walk; the timers still run.
	seen = nil
	src.due["y"], src.steal, src.asked = c.Now().Add(time.Minute), true, 0
	c.AfterFunc(time.Hour, func() { seen = append(seen, "t3") })
	c.SetWalkSource(src)
	c.Advance(2 * time.Hour)
	if fmt.Sprint(seen) != "[t3]" || src.asked != maxWalkMisses {
		t.Errorf("with a source that finds nothing: ran %v, asked %d times; want [t3], asked %d times", seen, src.asked, maxWalkMisses)
	}

	// Without a source the walk is the timers' alone.
	seen = nil
	src.steal = false
	c.SetWalkSource(nil)
	c.Advance(time.Hour)
	if len(seen) != 0 {
		t.Errorf("ran %v after SetWalkSource(nil)", seen)
	}
}
