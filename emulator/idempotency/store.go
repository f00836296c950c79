package idempotency

import (
	"context"
	"net/http"
	"time"
)

// Store keeps the keys of a Layer. The in-process MemoryStore is the
// default; a durable store (emulator/sqlstore) keeps them across restarts
// and shares them between the replicas of one database. Every
// implementation passes the suite of emulator/idempotency/storetest.
type Store interface {
	// Claim returns the live entry of c's scope in c's tenant, or stores a
	// new one in progress and returns it with first true. An entry is live
	// while younger than c.TTL on the tenant's clock and, in progress,
	// while its lease holds at c.RealNow.
	Claim(ctx context.Context, c Claim) (e Entry, first bool, err error)
	// Renew moves the lease of the claim token holds to lease; a claim
	// that is no longer token's is left alone.
	Renew(ctx context.Context, tenant, scope string, token int64, lease time.Time) error
	// Complete keeps resp as the answer of the claim token holds; a claim
	// that is no longer token's (taken over, reset) is left alone.
	Complete(ctx context.Context, tenant, scope string, token int64, resp Response) error
	// Forget removes the claim token holds, so the key's next request
	// runs (the first answered 5xx or panicked).
	Forget(ctx context.Context, tenant, scope string, token int64) error
	// Reset forgets every key (the sandbox reset).
	Reset(ctx context.Context) error
	// ResetTenant forgets the keys of one tenant.
	ResetTenant(ctx context.Context, tenant string) error
}

// Claim is the request of Store.Claim.
type Claim struct {
	Tenant, Scope string
	Fingerprint   [32]byte
	// Now is the tenant's clock: the new entry's creation time, and the
	// time the TTL of an existing one is judged at.
	Now time.Time
	// TTL is how long an entry lives after its creation.
	TTL time.Duration
	// MaxPerTenant bounds the entries kept per tenant, the oldest
	// evicted first. A durable store may hold a few more between its
	// prunes (at most an eighth).
	MaxPerTenant int
	// Lease is the real time until which a new entry in progress holds;
	// zero: until it is completed or forgotten.
	Lease time.Time
	// RealNow is the real time an existing entry's lease is judged at:
	// an entry in progress whose lease is before it has lapsed (its
	// request's process died), and the claim takes it over.
	RealNow time.Time
}

// Entry is a key as a Store returns it.
type Entry struct {
	// Fingerprint identifies the request the key was first used with.
	Fingerprint [32]byte
	// Token identifies the claim: Renew, Complete and Forget name it.
	Token int64
	// Response is the kept answer; nil while in progress.
	Response *Response
	// Done, when not nil, is closed as the claim in progress is
	// completed or forgotten by this process; nil means the store cannot
	// tell, and a waiter polls it.
	Done <-chan struct{}
}

// Response is a kept answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}
