package faults

import (
	"bytes"
	"context"
	"slices"
	"sync"
)

// MemoryStateStore is a SharedStateStore in memory: what processes
// sharing a database do, for engines of one process (tests) and as the
// reference of the store suite (faults/storetest).
type MemoryStateStore struct {
	mu       sync.Mutex
	snapshot []byte
	counts   map[string]Counts
	events   []Event
}

var _ SharedStateStore = (*MemoryStateStore)(nil)

// NewMemoryStateStore returns an empty MemoryStateStore.
func NewMemoryStateStore() *MemoryStateStore { return &MemoryStateStore{counts: map[string]Counts{}} }

// LoadRules returns the saved snapshot, nil when none was saved.
func (m *MemoryStateStore) LoadRules(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.snapshot), nil
}

// SaveRules replaces the saved snapshot.
func (m *MemoryStateStore) SaveRules(_ context.Context, snapshot []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.snapshot = slices.Clone(snapshot)
	return nil
}

// SwapRules replaces the snapshot when it is still prev (see
// SharedStateStore).
func (m *MemoryStateStore) SwapRules(_ context.Context, prev, next []byte, drop []string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if (prev == nil) != (m.snapshot == nil) || !bytes.Equal(prev, m.snapshot) {
		return false, nil
	}
	m.snapshot = slices.Clone(next)
	for _, id := range drop {
		delete(m.counts, id)
	}
	return true, nil
}

// CountMatch counts a match of rule (see SharedStateStore).
func (m *MemoryStateStore) CountMatch(_ context.Context, rule string, fire bool, after, limit int64) (Counts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counts[rule]
	c.Matched++
	if fire && c.Matched > after && (limit == 0 || c.Matched <= limit) {
		c.Fired++
	}
	m.counts[rule] = c
	return c, nil
}

// CountFiring counts a firing of rule.
func (m *MemoryStateStore) CountFiring(_ context.Context, rule string) (Counts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counts[rule]
	c.Fired++
	m.counts[rule] = c
	return c, nil
}

// LoadCounts returns every rule's counters by rule id.
func (m *MemoryStateStore) LoadCounts(context.Context) (map[string]Counts, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]Counts, len(m.counts))
	for id, c := range m.counts {
		out[id] = c
	}
	return out, nil
}

// AppendEvent adds a firing to the log and keeps the keep most recent.
func (m *MemoryStateStore) AppendEvent(_ context.Context, ev Event, keep int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = appendBounded(m.events, ev, keep)
	return nil
}

// Events lists the logged firings f selects, oldest first.
func (m *MemoryStateStore) Events(_ context.Context, f EventFilter) ([]Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return f.apply(m.events), nil
}

// ClearEvents empties the log.
func (m *MemoryStateStore) ClearEvents(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = nil
	return nil
}
