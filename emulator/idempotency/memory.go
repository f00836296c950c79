package idempotency

import (
	"context"
	"sync"
	"time"
)

// MemoryStore is the in-process Store, the default: a map per tenant,
// and a channel per claim that wakes this process's waiters the moment
// its request ends.
type MemoryStore struct {
	mu      sync.Mutex
	tenants map[string]*tenantKeys
	// running holds the claims in progress by token, evicted or reset
	// ones too: their end still wakes their waiters.
	running map[int64]*entry
	tokens  int64
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{tenants: map[string]*tenantKeys{}, running: map[int64]*entry{}}
}

// tenantKeys holds one tenant's keys, oldest first in order.
type tenantKeys struct {
	entries map[string]*entry
	order   []*entry
}

// entry is one key: in progress until done is closed, then either a kept
// answer (resp != nil) or forgotten (removed from the store).
type entry struct {
	scope       string
	fingerprint [32]byte
	created     time.Time
	lease       time.Time
	token       int64
	done        chan struct{}
	resp        *Response
}

func (e *entry) view() Entry {
	return Entry{Fingerprint: e.fingerprint, Token: e.token, Response: e.resp, Done: e.done}
}

// Claim implements Store.
func (s *MemoryStore) Claim(_ context.Context, c Claim) (Entry, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tk := s.tenants[c.Tenant]
	if tk == nil {
		tk = &tenantKeys{entries: map[string]*entry{}}
		s.tenants[c.Tenant] = tk
	}
	if e := tk.entries[c.Scope]; e != nil && c.Now.Sub(e.created) < c.TTL &&
		(e.resp != nil || e.lease.IsZero() || !e.lease.Before(c.RealNow)) {
		return e.view(), false, nil
	}
	s.tokens++
	e := &entry{scope: c.Scope, fingerprint: c.Fingerprint, created: c.Now, lease: c.Lease, token: s.tokens, done: make(chan struct{})}
	tk.entries[c.Scope] = e
	s.running[e.token] = e
	tk.order = append(tk.order, e)
	prune(tk, c)
	return e.view(), true, nil
}

// prune drops expired and superseded entries at the head of the order and
// evicts the oldest past MaxPerTenant.
func prune(tk *tenantKeys, c Claim) {
	drop := 0
	for drop < len(tk.order) {
		e := tk.order[drop]
		live := tk.entries[e.scope] == e
		if live && c.Now.Sub(e.created) < c.TTL && len(tk.order)-drop <= c.MaxPerTenant {
			break
		}
		if live {
			delete(tk.entries, e.scope)
		}
		drop++
	}
	if drop > 0 {
		tk.order = append([]*entry(nil), tk.order[drop:]...)
	}
}

// live is the entry of scope when token claimed it and it is still in
// the store. The caller holds s.mu.
func (s *MemoryStore) live(tenant, scope string, token int64) *entry {
	if tk := s.tenants[tenant]; tk != nil {
		if e := tk.entries[scope]; e != nil && e.token == token {
			return e
		}
	}
	return nil
}

// Renew implements Store.
func (s *MemoryStore) Renew(_ context.Context, tenant, scope string, token int64, lease time.Time) error {
	s.mu.Lock()
	if e := s.live(tenant, scope, token); e != nil && e.resp == nil {
		e.lease = lease
	}
	s.mu.Unlock()
	return nil
}

// Complete implements Store.
func (s *MemoryStore) Complete(_ context.Context, tenant, scope string, token int64, resp Response) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.live(tenant, scope, token); e != nil {
		e.resp = &resp
	}
	s.end(token)
	return nil
}

// Forget implements Store.
func (s *MemoryStore) Forget(_ context.Context, tenant, scope string, token int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.live(tenant, scope, token); e != nil {
		delete(s.tenants[tenant].entries, scope)
	}
	s.end(token)
	return nil
}

// end wakes the waiters of the claim token, wherever it is now. The
// caller holds s.mu.
func (s *MemoryStore) end(token int64) {
	if e := s.running[token]; e != nil {
		delete(s.running, token)
		close(e.done)
	}
}

// Reset implements Store. A claim in progress still wakes its waiters
// when its request ends; they then find no key and run.
func (s *MemoryStore) Reset(context.Context) error {
	s.mu.Lock()
	s.tenants = map[string]*tenantKeys{}
	s.mu.Unlock()
	return nil
}

// ResetTenant implements Store.
func (s *MemoryStore) ResetTenant(_ context.Context, tenant string) error {
	s.mu.Lock()
	delete(s.tenants, tenant)
	s.mu.Unlock()
	return nil
}
