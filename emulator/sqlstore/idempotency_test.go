package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/idempotency"
	"github.com/knogin/argus-sandbox/emulator/idempotency/storetest"
)

func TestIdempotencyStore(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) idempotency.Store { return e.open(t).Idempotency() })
		})
	}
}

// TestIdempotencyClaimSurvivesAFailedPrune: the prune a claim runs is
// best-effort: when it fails, the claim it follows still stands and is
// returned, or the key would stay running, unrenewed, for its lease.
func TestIdempotencyClaimSurvivesAFailedPrune(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			db := e.open(t)
			if err := db.RefuseIdempotencyDeletes(ctx); err != nil {
				t.Fatal(err)
			}
			s := db.Idempotency()
			now := time.Now()
			claim := func(scope string) (idempotency.Entry, bool, error) {
				return s.Claim(ctx, idempotency.Claim{Tenant: "acme", Scope: scope, Now: now, TTL: time.Hour,
					MaxPerTenant: 1, RealNow: now, Lease: now.Add(time.Minute)})
			}
			if _, first, err := claim("a"); err != nil || !first {
				t.Fatalf("claim a: first=%v, %v", first, err)
			}
			// b's claim prunes a, the oldest past MaxPerTenant: refused.
			b, first, err := claim("b")
			if err != nil || !first {
				t.Fatalf("claim b, whose prune fails: first=%v, %v; want it claimed", first, err)
			}
			if err := s.Complete(ctx, "acme", "b", b.Token, idempotency.Response{Status: 201}); err != nil {
				t.Fatal(err)
			}
			got, first, err := claim("b")
			if err != nil || first || got.Response == nil || got.Response.Status != 201 {
				t.Errorf("b again: first=%v, %+v, %v; want its answer", first, got.Response, err)
			}
		})
	}
}
