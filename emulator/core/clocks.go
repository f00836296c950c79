package core

import (
	"slices"
	"sync"
	"time"
)

// ClockFor returns the clock that rules a tenant's records and timers:
// token lifetimes, code lifetimes, webhook retries and delays.
type ClockFor func(tenant string) Clock

// Clocks is the sandbox clock and one VirtualClock per tenant, so that a
// partner of a shared sandbox can move its own time without moving
// anybody else's. A tenant's clock is made on first use, where the sandbox
// clock stands then (same offset, frozen if it is frozen); moving the
// sandbox clock through the control plane moves every tenant's by the same
// step (Each).
type Clocks struct {
	base  *VirtualClock
	known func(tenant string) bool

	mu      sync.Mutex
	tenants map[string]*VirtualClock
	closed  bool
	// onChange hears of every clock's changes (SetOnChange).
	onChange func(tenant string, p ClockPos)
	// walkSource gives each clock its WalkSource (SetWalkSources).
	walkSource func(tenant string) WalkSource
}

// NewClocks returns the clocks over base. known says whether a tenant
// exists: For gives an unknown tenant the sandbox clock rather than make a
// clock for any name; nil knows every tenant.
func NewClocks(base *VirtualClock, known func(tenant string) bool) *Clocks {
	return &Clocks{base: base, known: known, tenants: map[string]*VirtualClock{}}
}

// Base is the sandbox clock, which rules what belongs to no tenant (the
// signing key schedule, the journal).
func (c *Clocks) Base() *VirtualClock { return c.base }

// For returns the tenant's clock; "" and unknown tenants get the sandbox
// clock.
func (c *Clocks) For(tenant string) *VirtualClock {
	if tenant == "" {
		return c.base
	}
	c.mu.Lock()
	vc, ok := c.tenants[tenant]
	c.mu.Unlock()
	if ok {
		return vc
	}
	if c.known != nil && !c.known(tenant) {
		return c.base
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if vc, ok := c.tenants[tenant]; ok {
		return vc
	}
	if c.closed {
		return c.base
	}
	vc = NewVirtualClock(c.base.real)
	pos := c.base.pos.Load()
	vc.mu.Lock()
	vc.offset, vc.frozen, vc.frozenAt = pos.offset, pos.frozen, pos.frozenAt
	vc.publishLocked()
	vc.mu.Unlock()
	if f := c.onChange; f != nil {
		vc.OnChange(func(p ClockPos) { f(tenant, p) })
	}
	if f := c.walkSource; f != nil {
		vc.SetWalkSource(f(tenant))
	}
	c.tenants[tenant] = vc
	return vc
}

// SetOnChange makes f hear of every later change of the sandbox clock
// (tenant "") and of every tenant's clock, as VirtualClock.OnChange: a
// durable sandbox stores the clocks' state with it.
func (c *Clocks) SetOnChange(f func(tenant string, p ClockPos)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = f
	c.base.OnChange(func(p ClockPos) { f("", p) })
	for id, vc := range c.tenants {
		vc.OnChange(func(p ClockPos) { f(id, p) })
	}
}

// SetWalkSources gives the sandbox clock (tenant "") and every tenant's
// clock, those made later included, the WalkSource f returns for it (see
// VirtualClock.SetWalkSource).
func (c *Clocks) SetWalkSources(f func(tenant string) WalkSource) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.walkSource = f
	c.base.SetWalkSource(f(""))
	for id, vc := range c.tenants {
		vc.SetWalkSource(f(id))
	}
}

// Restore puts the tenant's clock ("" the sandbox clock) at p, making it
// if needed (VirtualClock.Restore); an unknown tenant's is ignored.
func (c *Clocks) Restore(tenant string, p ClockPos) {
	vc := c.For(tenant)
	if tenant != "" && vc == c.base {
		return
	}
	vc.Restore(p)
}

// Func returns For as a ClockFor.
func (c *Clocks) Func() ClockFor { return func(tenant string) Clock { return c.For(tenant) } }

// Each calls f with the sandbox clock, then with every tenant's clock,
// in tenant order.
func (c *Clocks) Each(f func(tenant string, vc *VirtualClock)) {
	c.mu.Lock()
	ids := make([]string, 0, len(c.tenants))
	for id := range c.tenants {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	clocks := make([]*VirtualClock, len(ids))
	for i, id := range ids {
		clocks[i] = c.tenants[id]
	}
	c.mu.Unlock()
	f("", c.base)
	for i, vc := range clocks {
		f(ids[i], vc)
	}
}

// Earliest reads the earliest time of the sandbox clock and the tenants'
// clocks: what expired before it expired on every clock, so pruning at it
// forgets no record a tenant can still use.
func (c *Clocks) Earliest() time.Time {
	t := c.base.Now()
	c.Each(func(_ string, vc *VirtualClock) {
		if now := vc.Now(); now.Before(t) {
			t = now
		}
	})
	return t
}

// Latest reads the latest time of the sandbox clock and the tenants'
// clocks: whatever is due on some clock is due at it.
func (c *Clocks) Latest() time.Time {
	t := c.base.Now()
	c.Each(func(_ string, vc *VirtualClock) {
		if now := vc.Now(); now.After(t) {
			t = now
		}
	})
	return t
}

// Drop stops and forgets the tenant's clock (the tenant was deleted): its
// pending timers never fire.
func (c *Clocks) Drop(tenant string) {
	c.mu.Lock()
	vc, ok := c.tenants[tenant]
	delete(c.tenants, tenant)
	c.mu.Unlock()
	if ok {
		vc.Close()
	}
}

// Close stops every tenant's clock (not the sandbox clock, which its
// owner closes).
func (c *Clocks) Close() {
	c.mu.Lock()
	c.closed = true
	clocks := c.tenants
	c.tenants = map[string]*VirtualClock{}
	c.mu.Unlock()
	for _, vc := range clocks {
		vc.Close()
	}
}
