package faults

import (
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// TestTenantRuleWindowIsOnTheTenantsClock: a rule matching one tenant opens
// and closes its window on that tenant's clock, so a partner moving its own
// clock reaches its rule's window and moving the sandbox clock does not.
func TestTenantRuleWindowIsOnTheTenantsClock(t *testing.T) {
	globex := core.NewVirtualClock(nil)
	globex.Freeze()
	t.Cleanup(globex.Close)
	withTenantClock := func(c *harnessConfig) {
		c.TenantClock = func(tenant string) core.Clock {
			if tenant == "globex" {
				return globex
			}
			return c.Clock
		}
	}
	h := newHarness(t, nil, withTenantClock)
	if _, err := h.engine.Add(rule("globex-later", Match{Tenant: "globex"}, When{From: "1h", Until: "3h"}, Action{Error: &ErrorReply{Status: 503}})); err != nil {
		t.Fatal(err)
	}
	status := func() int {
		t.Helper()
		resp, err := h.get("globex")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != 200 {
		t.Fatalf("before the window: status %d, want 200", got)
	}
	h.clock.Advance(2 * time.Hour)
	if got := status(); got != 200 {
		t.Fatalf("sandbox clock moved into the window, tenant's not: status %d, want 200", got)
	}
	globex.Advance(2 * time.Hour)
	if got := status(); got != 503 {
		t.Fatalf("tenant's clock inside the window: status %d, want 503", got)
	}
	st, err := h.engine.Rule("globex-later")
	if err != nil {
		t.Fatal(err)
	}
	if want := globex.Now().Add(-time.Hour); st.ActiveFrom == nil || !st.ActiveFrom.Equal(want) {
		t.Errorf("active_from %v, want %v (an hour past the tenant's load time)", st.ActiveFrom, want)
	}
	globex.Advance(2 * time.Hour)
	if got := status(); got != 200 {
		t.Fatalf("tenant's clock past the window: status %d, want 200", got)
	}
}

// TestTenantRuleFiringIsStampedOnTheTenantsClock: the firing log of a
// tenant's rule is in the tenant's time.
func TestTenantRuleFiringIsStampedOnTheTenantsClock(t *testing.T) {
	globex := core.NewVirtualClock(nil)
	globex.Freeze()
	globex.Advance(48 * time.Hour)
	t.Cleanup(globex.Close)
	h := newHarness(t, []Rule{rule("globex-outage", Match{Tenant: "globex"}, When{}, Action{Error: &ErrorReply{Status: 500}})},
		func(c *harnessConfig) {
			c.TenantClock = func(tenant string) core.Clock {
				if tenant == "globex" {
					return globex
				}
				return c.Clock
			}
		})
	resp, err := h.get("globex")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	evs := firings(t, h.engine, EventFilter{})
	if len(evs) != 1 || !evs[0].At.Equal(globex.Now()) {
		t.Errorf("firings %+v, want one at the tenant's time %v", evs, globex.Now())
	}
}
