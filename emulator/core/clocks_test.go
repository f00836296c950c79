package core

import (
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
