// Package storetest is the conformance suite every idempotency.Store
// implementation passes: the in-memory one does, and a durable backend is
// done when it does too.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/idempotency"
	"github.com/knogin/argus-sandbox/internal/racetest"
)

// Run runs the suite against stores made by newStore, which returns a
// new, empty store for each subtest. Run it with -race: one case has
// concurrent claimers.
func Run(t *testing.T, newStore func(t *testing.T) idempotency.Store) {
	t.Run("claim complete replay", func(t *testing.T) { testReplay(t, newStore(t)) })
	t.Run("fingerprint kept", func(t *testing.T) { testFingerprint(t, newStore(t)) })
	t.Run("forget then reclaim", func(t *testing.T) { testForget(t, newStore(t)) })
	t.Run("ttl on the tenant clock", func(t *testing.T) { testTTL(t, newStore(t)) })
	t.Run("max per tenant", func(t *testing.T) { testMaxPerTenant(t, newStore(t)) })
	t.Run("reset", func(t *testing.T) { testReset(t, newStore(t)) })
	t.Run("concurrent claims", func(t *testing.T) { testConcurrentClaims(t, newStore(t)) })
	t.Run("lease takeover", func(t *testing.T) { testLease(t, newStore(t)) })
}

// epoch is a tenant clock's reading, whole microseconds (the durable
// stores' unit).
var epoch = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// claim is a claim of scope in tenant with fingerprint fp at now on the
// tenant's clock, a day's TTL, no lease.
func claim(tenant, scope string, fp byte, now time.Time) idempotency.Claim {
	return idempotency.Claim{Tenant: tenant, Scope: scope, Fingerprint: [32]byte{fp}, Now: now,
		TTL: 24 * time.Hour, MaxPerTenant: 100}
}

func mustClaim(t *testing.T, s idempotency.Store, c idempotency.Claim, wantFirst bool) idempotency.Entry {
	t.Helper()
	e, first, err := s.Claim(context.Background(), c)
	if err != nil {
		t.Fatalf("claim %s/%q: %v", c.Tenant, c.Scope, err)
	}
	if first != wantFirst {
		t.Fatalf("claim %s/%q: first = %v, want %v", c.Tenant, c.Scope, first, wantFirst)
	}
	return e
}

var answer = idempotency.Response{Status: http.StatusCreated,
	Header: http.Header{"Content-Type": {"application/json"}, "Location": {"/v1/platform/apps/app_1"}},
	Body:   []byte("{\"id\":\"app_1\"}\n\x00\xff")}

// testReplay: the first claim is first and in progress; a second sees it
// in progress; once completed, a claim returns the kept answer as it was.
func testReplay(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	first := mustClaim(t, s, claim("acme", "k", 1, epoch), true)
	if first.Response != nil {
		t.Fatalf("a new claim has an answer: %+v", first.Response)
	}
	again := mustClaim(t, s, claim("acme", "k", 1, epoch), false)
	if again.Response != nil || again.Token != first.Token {
		t.Fatalf("the claim in progress = %+v, want no answer and token %d", again, first.Token)
	}
	if err := s.Complete(ctx, "acme", "k", first.Token, answer); err != nil {
		t.Fatal(err)
	}
	got := mustClaim(t, s, claim("acme", "k", 1, epoch.Add(time.Hour)), false)
	if got.Response == nil {
		t.Fatal("the completed key has no answer")
	}
	if r := got.Response; r.Status != answer.Status || !bytes.Equal(r.Body, answer.Body) ||
		fmt.Sprint(r.Header) != fmt.Sprint(answer.Header) {
		t.Errorf("kept answer = %d %v %q, want %d %v %q", r.Status, r.Header, r.Body, answer.Status, answer.Header, answer.Body)
	}
	// Scopes and tenants are apart.
	mustClaim(t, s, claim("acme", "k2", 1, epoch), true)
	mustClaim(t, s, claim("globex", "k", 1, epoch), true)
}

// testFingerprint: a claim with another request's fingerprint gets the
// entry with the first's, for the layer to refuse.
func testFingerprint(t *testing.T, s idempotency.Store) {
	mustClaim(t, s, claim("acme", "k", 1, epoch), true)
	if e := mustClaim(t, s, claim("acme", "k", 2, epoch), false); e.Fingerprint != [32]byte{1} {
		t.Errorf("fingerprint = %x, want the first request's", e.Fingerprint[:1])
	}
}

// testForget: a forgotten claim (a 5xx) leaves the key free; completing
// or forgetting with a stale token changes nothing.
func testForget(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	e := mustClaim(t, s, claim("acme", "k", 1, epoch), true)
	if err := s.Forget(ctx, "acme", "k", e.Token); err != nil {
		t.Fatal(err)
	}
	e2 := mustClaim(t, s, claim("acme", "k", 2, epoch), true)
	if e2.Token == e.Token {
		t.Fatalf("the new claim has the forgotten one's token %d", e.Token)
	}
	if err := s.Complete(ctx, "acme", "k", e.Token, answer); err != nil {
		t.Fatal(err)
	}
	if err := s.Forget(ctx, "acme", "k", e.Token); err != nil {
		t.Fatal(err)
	}
	if got := mustClaim(t, s, claim("acme", "k", 2, epoch), false); got.Response != nil || got.Token != e2.Token {
		t.Errorf("after the stale token's complete and forget: %+v, want the new claim in progress", got)
	}
}

// testTTL: a key lives TTL on the tenant's clock, measured from its
// creation, completed or not; past it the key is new.
func testTTL(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	e := mustClaim(t, s, claim("acme", "k", 1, epoch), true)
	if err := s.Complete(ctx, "acme", "k", e.Token, answer); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, s, claim("acme", "k", 1, epoch.Add(24*time.Hour-time.Microsecond)), false)
	mustClaim(t, s, claim("acme", "k", 1, epoch.Add(24*time.Hour)), true)
	// Another tenant's clock may be far behind: its key is younger there.
	mustClaim(t, s, claim("globex", "k", 1, epoch.Add(48*time.Hour)), true)
	mustClaim(t, s, claim("globex", "k", 1, epoch.Add(49*time.Hour)), false)
}

// testMaxPerTenant: past MaxPerTenant the oldest keys are evicted, the
// newest kept, and other tenants keep theirs.
func testMaxPerTenant(t *testing.T, s idempotency.Store) {
	const max = 3
	c := func(tenant string, i int) idempotency.Claim {
		cl := claim(tenant, fmt.Sprintf("k%d", i), 1, epoch)
		cl.MaxPerTenant = max
		return cl
	}
	mustClaim(t, s, c("globex", 0), true)
	for i := range 6 {
		mustClaim(t, s, c("acme", i), true)
	}
	for i := 5; i >= 6-max; i-- { // newest first: a claim that finds its key evicts nothing
		mustClaim(t, s, c("acme", i), false)
	}
	mustClaim(t, s, c("acme", 0), true)
	mustClaim(t, s, c("globex", 0), false)
}

// testReset: ResetTenant forgets one tenant's keys, Reset every key.
func testReset(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	for _, tenant := range []string{"acme", "globex", "initech"} {
		mustClaim(t, s, claim(tenant, "k", 1, epoch), true)
	}
	if err := s.ResetTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, s, claim("acme", "k", 1, epoch), true)
	mustClaim(t, s, claim("globex", "k", 1, epoch), false)
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"acme", "globex", "initech"} {
		mustClaim(t, s, claim(tenant, "k", 1, epoch), true)
	}
}

// testConcurrentClaims: of many concurrent claims of one key exactly one
// is first, and every other sees its token.
func testConcurrentClaims(t *testing.T, s idempotency.Store) {
	const n = racetest.Writers
	entries := make([]idempotency.Entry, n)
	firsts := make([]bool, n)
	errs := make([]error, n)
	racetest.Run(n, func(i int) {
		entries[i], firsts[i], errs[i] = s.Claim(context.Background(), claim("acme", "k", 1, epoch))
	})
	winner := -1
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("claim %d: %v", i, errs[i])
		}
		if firsts[i] {
			if winner >= 0 {
				t.Fatalf("claims %d and %d were both first", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no claim was first")
	}
	for i := range n {
		if entries[i].Token != entries[winner].Token {
			t.Errorf("claim %d saw token %d, want the first's %d", i, entries[i].Token, entries[winner].Token)
		}
	}
}

// testLease: a claim in progress holds until its lease; Renew moves the
// lease; past it the next claim takes the key over, and the first
// claim's late Complete changes nothing. A completed key has no lease.
func testLease(t *testing.T, s idempotency.Store) {
	ctx := context.Background()
	real0 := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	leased := func(fp byte, realNow time.Time) idempotency.Claim {
		c := claim("acme", "k", fp, epoch)
		c.RealNow, c.Lease = realNow, realNow.Add(10*time.Second)
		return c
	}
	first := mustClaim(t, s, leased(1, real0), true)
	mustClaim(t, s, leased(1, real0.Add(9*time.Second)), false)
	if err := s.Renew(ctx, "acme", "k", first.Token, real0.Add(20*time.Second)); err != nil {
		t.Fatal(err)
	}
	mustClaim(t, s, leased(1, real0.Add(15*time.Second)), false)
	taken := mustClaim(t, s, leased(2, real0.Add(21*time.Second)), true)
	if taken.Token == first.Token || taken.Fingerprint != [32]byte{2} {
		t.Fatalf("the takeover = %+v, want a new token and its own fingerprint", taken)
	}
	if err := s.Complete(ctx, "acme", "k", first.Token, answer); err != nil {
		t.Fatal(err)
	}
	if err := s.Renew(ctx, "acme", "k", first.Token, real0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if e := mustClaim(t, s, leased(2, real0.Add(22*time.Second)), false); e.Response != nil || e.Token != taken.Token {
		t.Fatalf("after the first's late complete: %+v, want the takeover in progress", e)
	}
	if err := s.Complete(ctx, "acme", "k", taken.Token, answer); err != nil {
		t.Fatal(err)
	}
	if e := mustClaim(t, s, leased(2, real0.Add(time.Hour)), false); e.Response == nil {
		t.Error("a completed key was taken over when its lease had lapsed")
	}
}
