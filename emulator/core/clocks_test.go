package core

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestClocksAreIndependentPerTenant(t *testing.T) {
	base := NewVirtualClock(nil)
	defer base.Close()
	base.Freeze()
	c := NewClocks(base, func(tenant string) bool { return tenant != "ghost" })
	defer c.Close()
	a, b := c.For("a"), c.For("b")
	if a == b || a == base || c.For("a") != a {
		t.Fatal("For does not give each tenant one clock of its own")
	}
	if c.For("ghost") != base || c.For("") != base {
		t.Error("an unknown tenant or none does not get the sandbox clock")
	}
	if !a.Now().Equal(base.Now()) || !a.State().Frozen {
		t.Errorf("a new tenant clock = %v (frozen %v), want the frozen sandbox clock %v", a.Now(), a.State().Frozen, base.Now())
	}
	var fired atomic.Int32
	a.AfterFunc(time.Hour, func() { fired.Add(1) })
	b.AfterFunc(time.Hour, func() { fired.Add(10) })
	a.Advance(2 * time.Hour)
	if got := fired.Load(); got != 1 {
		t.Errorf("after advancing a, fired = %d, want only a's timer (1)", got)
	}
	if !b.Now().Equal(base.Now()) {
		t.Errorf("advancing a moved b: %v, sandbox %v", b.Now(), base.Now())
	}
	n := 0
	c.Each(func(string, *VirtualClock) { n++ })
	if n != 3 {
		t.Errorf("Each visited %d clocks, want the sandbox clock and two tenants'", n)
	}
	c.Drop("b")
	if c.For("b") == b {
		t.Error("a dropped tenant keeps its clock")
	}
}

// TestClockOnChangeAndRestore: every change through the clock's methods
// reaches OnChange with the new position, in order; Restore puts a clock
// at a stored position without telling it, and starts the timers that the
// move makes due.
func TestClockOnChangeAndRestore(t *testing.T) {
	real := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	vc := NewVirtualClock(func() time.Time { return real })
	defer vc.Close()
	var got []ClockPos
	vc.OnChange(func(p ClockPos) { got = append(got, p) })
	vc.Advance(time.Hour)
	vc.Freeze()
	vc.Set(real.Add(3 * time.Hour))
	vc.Unfreeze()
	vc.Reset()
	want := []ClockPos{{Offset: time.Hour}, {Offset: time.Hour, Frozen: true, FrozenAt: real.Add(time.Hour)},
		{Offset: time.Hour, Frozen: true, FrozenAt: real.Add(3 * time.Hour)}, {Offset: 3 * time.Hour, FrozenAt: real.Add(3 * time.Hour)}, {}}
	if len(got) != len(want) {
		t.Fatalf("OnChange heard %d changes, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Offset != want[i].Offset || got[i].Frozen != want[i].Frozen || want[i].Frozen && !got[i].FrozenAt.Equal(want[i].FrozenAt) {
			t.Errorf("change %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	fired := make(chan struct{})
	vc.AfterFunc(30*time.Minute, func() { close(fired) })
	vc.Restore(ClockPos{Offset: 2 * time.Hour})
	if n := vc.Now(); !n.Equal(real.Add(2 * time.Hour)) {
		t.Errorf("after Restore Now = %v, want %v", n, real.Add(2*time.Hour))
	}
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Error("a timer the restored position made due did not fire")
	}
	vc.Restore(ClockPos{Frozen: true, FrozenAt: real.Add(-time.Hour)})
	if n := vc.Now(); !n.Equal(real.Add(-time.Hour)) {
		t.Errorf("after a frozen Restore Now = %v, want %v", n, real.Add(-time.Hour))
	}
	if len(got) != len(want) {
		t.Errorf("Restore told OnChange: %+v", got[len(want):])
	}
}

// TestClocksOnChangeAndRestore: SetOnChange hears the sandbox clock and
// every tenant's, made before or after it; Restore makes a tenant's clock
// at the stored position.
func TestClocksOnChangeAndRestore(t *testing.T) {
	real := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	base := NewVirtualClock(func() time.Time { return real })
	defer base.Close()
	cs := NewClocks(base, func(tenant string) bool { return tenant != "ghost" })
	defer cs.Close()
	early := cs.For("early")
	type change struct {
		tenant string
		pos    ClockPos
	}
	var mu sync.Mutex
	var got []change
	cs.SetOnChange(func(tenant string, p ClockPos) { mu.Lock(); got = append(got, change{tenant, p}); mu.Unlock() })
	early.Advance(time.Minute)
	cs.For("late").Advance(2 * time.Minute)
	base.Freeze()
	cs.Restore("restored", ClockPos{Offset: 5 * time.Minute})
	cs.Restore("ghost", ClockPos{Offset: time.Hour})
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[0].tenant != "early" || got[0].pos.Offset != time.Minute || got[1].tenant != "late" ||
		got[1].pos.Offset != 2*time.Minute || got[2].tenant != "" || !got[2].pos.Frozen {
		t.Errorf("changes heard = %+v", got)
	}
	if n := cs.For("restored").Now(); !n.Equal(real.Add(5 * time.Minute)) {
		t.Errorf("restored tenant's clock = %v, want %v", n, real.Add(5*time.Minute))
	}
	if !base.Pos().Frozen || base.Pos().Offset != 0 {
		t.Errorf("restoring an unknown tenant's clock moved the sandbox clock: %+v", base.Pos())
	}
}
