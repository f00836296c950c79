package journal

import (
	"context"
	"sync"
)

// Store keeps the journal's entries. The in-memory Memory is the default;
// a sandbox whose replicas share a PostgreSQL database keeps them there
// (sqlstore.JournalStore), so any replica lists what every replica served.
// Every implementation passes the journal/storetest suite.
type Store interface {
	// Append keeps e. It is called on the request path, so it must never
	// wait for I/O: a store that writes elsewhere queues e and writes it
	// later. A store that numbers entries itself (Numbers) ignores e.Seq.
	Append(e Entry)
	// Entries returns, newest first, at most n entries that match f and
	// whose Seq is below before. An entry this process appended before
	// the call is among them.
	Entries(ctx context.Context, f Filter, before uint64, n int) ([]Entry, error)
	// Clear forgets the entries of tenant, or of every tenant when tenant
	// is empty. Sequence numbers go on.
	Clear(ctx context.Context, tenant string) error
	// Numbers reports whether the store numbers entries itself (a
	// database sequence), rather than keeping the Seq Append was given.
	Numbers() bool
}

// Memory keeps the newest Size entries of each tenant (and of the
// tenantless requests) in rings, in this process's memory.
type Memory struct {
	size  int
	mu    sync.Mutex
	rings map[string]*ring
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store keeping size entries per
// tenant (DefaultSize when size is not positive).
func NewMemory(size int) *Memory {
	if size <= 0 {
		size = DefaultSize
	}
	return &Memory{size: size, rings: map[string]*ring{}}
}

// Numbers is false: the journal numbers the entries it keeps in memory,
// on the counter of its stream frames.
func (m *Memory) Numbers() bool { return false }

// Append keeps e in its tenant's ring, dropping the ring's oldest when full.
func (m *Memory) Append(e Entry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rg := m.rings[e.Tenant]
	if rg == nil {
		rg = &ring{buf: make([]Entry, m.size)}
		m.rings[e.Tenant] = rg
	}
	rg.add(e)
}

// Entries implements Store.
func (m *Memory) Entries(_ context.Context, f Filter, before uint64, n int) ([]Entry, error) {
	m.mu.Lock()
	var out []Entry
	for tenant, rg := range m.rings {
		if f.Tenant != "" && tenant != f.Tenant {
			continue
		}
		// Each ring is newest first: at most n of one ring can make the
		// answer.
		taken := 0
		rg.each(func(e *Entry) bool {
			if e.Seq < before && f.Match(e) {
				out = append(out, *e)
				taken++
			}
			return taken < n
		})
	}
	m.mu.Unlock()
	sortNewestFirst(out)
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// Clear implements Store.
func (m *Memory) Clear(_ context.Context, tenant string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if tenant == "" {
		clear(m.rings)
		return nil
	}
	delete(m.rings, tenant)
	return nil
}

// ring keeps the last len(buf) entries of one tenant.
type ring struct {
	buf  []Entry
	next int
	full bool
}

func (r *ring) add(e Entry) {
	r.buf[r.next] = e
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// each calls f on the entries newest first until f returns false.
func (r *ring) each(f func(*Entry) bool) {
	n := r.next
	if r.full {
		n = len(r.buf)
	}
	for i := range n {
		k := (r.next - 1 - i + len(r.buf)) % len(r.buf)
		if !f(&r.buf[k]) {
			return
		}
	}
}
