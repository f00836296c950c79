package oauth

import (
	"bytes"
	"context"
	"slices"
	"sync"
)

// MemoryKeyStore is a SharedKeyStore in memory: what processes sharing a
// database do, for keyrings of one process (tests) and as the reference
// of the store suite (storetest.RunKeys).
type MemoryKeyStore struct {
	mu       sync.Mutex
	snapshot []byte
	expiry   map[string]int64
}

var _ SharedKeyStore = (*MemoryKeyStore)(nil)

// NewMemoryKeyStore returns an empty MemoryKeyStore.
func NewMemoryKeyStore() *MemoryKeyStore { return &MemoryKeyStore{expiry: map[string]int64{}} }

// LoadKeys returns the saved snapshot, nil when none was saved.
func (m *MemoryKeyStore) LoadKeys(context.Context) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.snapshot), nil
}

// SaveKeys replaces the saved snapshot.
func (m *MemoryKeyStore) SaveKeys(_ context.Context, snapshot []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.snapshot = slices.Clone(snapshot)
	return nil
}

// SwapKeys replaces the snapshot when it is still prev (see
// SharedKeyStore).
func (m *MemoryKeyStore) SwapKeys(_ context.Context, prev, next []byte, drop []string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if (prev == nil) != (m.snapshot == nil) || !bytes.Equal(prev, m.snapshot) {
		return false, nil
	}
	m.snapshot = slices.Clone(next)
	for _, kid := range drop {
		delete(m.expiry, kid)
	}
	return true, nil
}

// RaiseKeyExpiry records exp for kid and returns the latest recorded.
func (m *MemoryKeyStore) RaiseKeyExpiry(_ context.Context, kid string, exp int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.expiry[kid] = max(m.expiry[kid], exp)
	return m.expiry[kid], nil
}

// KeyExpiry returns the latest expiry recorded for kid, 0 when none is.
func (m *MemoryKeyStore) KeyExpiry(_ context.Context, kid string) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.expiry[kid], nil
}
