package oauth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Store errors, checked with errors.Is.
var (
	// ErrNotFound means no record has the key.
	ErrNotFound = errors.New("oauth store: not found")
	// ErrExists means a record with the key is already stored.
	ErrExists = errors.New("oauth store: already exists")
)

// AuthCode is an issued authorization code (RFC 6749 §4.1.2), stored by
// the SHA-256 of its value.
type AuthCode struct {
	Hash        string
	ClientID    string
	Tenant      string
	UserID      string
	RedirectURI string
	// Challenge is the S256 code_challenge (RFC 7636 §4.2); empty when the
	// authorization request carried none.
	Challenge string
	Scopes    []string
	Resources []string
	// Nonce is the authorization request's nonce, echoed in the ID token
	// (OpenID Connect Core §3.1.2.1).
	Nonce    string
	AuthTime time.Time
	Expires  time.Time
	// Redeemed is set by the first successful redemption, with the grant
	// it created, so a replay can revoke that grant (RFC 6749 §4.1.2).
	Redeemed bool
	GrantID  string
}

// Grant is one user's authorization of one client: the family of tokens
// issued from one authorization code. Revoking it kills every token of the
// family.
type Grant struct {
	ID        string
	Tenant    string
	ClientID  string
	UserID    string
	Scopes    []string
	Resources []string
	AuthTime  time.Time
	// Expires is when the last token of the family expires.
	Expires time.Time
	Revoked bool
}

// RefreshToken is an issued refresh token, stored by the SHA-256 of its
// value. Used is set when it is rotated; presenting it again is a replay.
type RefreshToken struct {
	Hash     string
	GrantID  string
	ClientID string
	IssuedAt time.Time
	Expires  time.Time
	Used     bool
	Revoked  bool
}

// AccessRecord remembers an access token the store must be able to revoke:
// one bound to a grant, or one revoked by its ID.
type AccessRecord struct {
	JTI     string
	GrantID string
	Expires time.Time
	Revoked bool
	// KeyGen is the generation of the newest signing key when the record
	// was made: the token was signed by that key or an older one. A
	// revocation is kept while such a key is in the keyring.
	KeyGen uint64
}

// MaxRevocations bounds the revocations a Store keeps for tokens whose
// signing key is still in the keyring; beyond it, those of tokens already
// expired in both sandbox and real time are forgotten (see Store.Prune).
// About 10 MB in a MemoryStore.
const MaxRevocations = 1 << 16

// Store keeps the token service's state. Updates go through a closure that
// sees a copy of the record: the change is stored only if it returns nil,
// atomically with respect to other updates of the same store. Every
// implementation passes the suite in oauth/storetest.
type Store interface {
	CreateCode(ctx context.Context, c AuthCode) error
	UpdateCode(ctx context.Context, hash string, fn func(*AuthCode) error) (AuthCode, error)
	CreateGrant(ctx context.Context, g Grant) error
	GetGrant(ctx context.Context, id string) (Grant, error)
	UpdateGrant(ctx context.Context, id string, fn func(*Grant) error) (Grant, error)
	CreateRefresh(ctx context.Context, t RefreshToken) error
	GetRefresh(ctx context.Context, hash string) (RefreshToken, error)
	UpdateRefresh(ctx context.Context, hash string, fn func(*RefreshToken) error) (RefreshToken, error)
	// PutAccess stores or replaces an access-token record; a revocation
	// is final.
	PutAccess(ctx context.Context, a AccessRecord) error
	// AccessActive reports false when the access token jti was revoked or
	// belongs to a revoked or forgotten grant. An unknown jti is active
	// unless recorded says the token is of a kind recorded when issued (a
	// grant's): then its record was forgotten, and it fails closed.
	AccessActive(ctx context.Context, jti string, recorded bool) (bool, error)
	// Prune forgets what expired (with Leeway) before cutoff, the earlier
	// of sandbox and real time, so that moving the sandbox clock back
	// finds what real time still needs. Revocations of access tokens are
	// the exception, since the verifier has no other record of them and
	// the clock may go back past any expiry: one is forgotten only once
	// its KeyGen is below oldestKey, the generation of the oldest key left
	// in the keyring (the token can then never verify again), or, while
	// more than MaxRevocations are kept, once it expired before cutoff.
	Prune(cutoff time.Time, oldestKey uint64)
	// Reset forgets everything.
	Reset(ctx context.Context) error
	// DeleteTenant forgets the tenant's codes and grants with their
	// refresh tokens and access records: the grants' tokens then fail
	// closed (AccessActive with recorded). Other tenants' records are
	// untouched.
	DeleteTenant(ctx context.Context, tenant string) error
}

// MemoryStore is the default, concurrency-safe in-memory Store.
type MemoryStore struct {
	mu      sync.RWMutex
	codes   map[string]AuthCode
	grants  map[string]Grant
	refresh map[string]RefreshToken
	access  map[string]AccessRecord
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	m := &MemoryStore{}
	_ = m.Reset(context.Background())
	return m
}

// Reset forgets everything.
func (m *MemoryStore) Reset(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.codes = map[string]AuthCode{}
	m.grants = map[string]Grant{}
	m.refresh = map[string]RefreshToken{}
	m.access = map[string]AccessRecord{}
	return nil
}

// DeleteTenant forgets the tenant's codes and grants with their tokens.
func (m *MemoryStore) DeleteTenant(_ context.Context, tenant string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, c := range m.codes {
		if c.Tenant == tenant {
			delete(m.codes, h)
		}
	}
	grants := map[string]bool{}
	for id, g := range m.grants {
		if g.Tenant == tenant {
			grants[id] = true
			delete(m.grants, id)
		}
	}
	for h, t := range m.refresh {
		if grants[t.GrantID] {
			delete(m.refresh, h)
		}
	}
	for jti, a := range m.access {
		if a.GrantID != "" && grants[a.GrantID] {
			delete(m.access, jti)
		}
	}
	return nil
}

// Prune forgets what expired before cutoff, and the revocations the
// verifier can no longer need (see Store.Prune).
func (m *MemoryStore) Prune(cutoff time.Time, oldestKey uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	deleteExpired(m.codes, cutoff, func(c AuthCode) time.Time { return c.Expires })
	deleteExpired(m.grants, cutoff, func(g Grant) time.Time { return g.Expires })
	deleteExpired(m.refresh, cutoff, func(t RefreshToken) time.Time { return t.Expires })
	revoked := 0
	for k, a := range m.access {
		switch {
		case a.Revoked && a.KeyGen < oldestKey:
			delete(m.access, k)
		case a.Revoked:
			revoked++
		case expired(a.Expires, cutoff):
			delete(m.access, k)
		}
	}
	if revoked > MaxRevocations {
		deleteExpired(m.access, cutoff, func(a AccessRecord) time.Time { return a.Expires })
	}
}

func expired(exp, cutoff time.Time) bool { return exp.Add(Leeway).Before(cutoff) }

func deleteExpired[V any](m map[string]V, cutoff time.Time, exp func(V) time.Time) {
	for k, v := range m {
		if expired(exp(v), cutoff) {
			delete(m, k)
		}
	}
}

func create[V any](mu *sync.RWMutex, m map[string]V, key string, v V) error {
	mu.Lock()
	defer mu.Unlock()
	if _, ok := m[key]; ok {
		return ErrExists
	}
	m[key] = v
	return nil
}

func get[V any](mu *sync.RWMutex, m map[string]V, key string) (V, error) {
	mu.RLock()
	defer mu.RUnlock()
	v, ok := m[key]
	if !ok {
		return v, ErrNotFound
	}
	return v, nil
}

// update applies fn to a copy and stores it only when fn succeeds; the
// returned value is a copy of the stored one, unchanged when fn failed.
func update[V any](mu *sync.RWMutex, m map[string]V, key string, clone func(V) V, fn func(*V) error) (V, error) {
	mu.Lock()
	defer mu.Unlock()
	v, ok := m[key]
	if !ok {
		return v, ErrNotFound
	}
	c := clone(v)
	if err := fn(&c); err != nil {
		return clone(v), err
	}
	m[key] = c
	return clone(c), nil
}

func cloneCode(c AuthCode) AuthCode {
	c.Scopes, c.Resources = slices.Clone(c.Scopes), slices.Clone(c.Resources)
	return c
}

func cloneGrant(g Grant) Grant {
	g.Scopes, g.Resources = slices.Clone(g.Scopes), slices.Clone(g.Resources)
	return g
}

func same[V any](v V) V { return v }

// CreateCode stores a new code.
func (m *MemoryStore) CreateCode(_ context.Context, c AuthCode) error {
	return create(&m.mu, m.codes, c.Hash, cloneCode(c))
}

// UpdateCode changes a code through fn.
func (m *MemoryStore) UpdateCode(_ context.Context, hash string, fn func(*AuthCode) error) (AuthCode, error) {
	return update(&m.mu, m.codes, hash, cloneCode, fn)
}

// CreateGrant stores a new grant.
func (m *MemoryStore) CreateGrant(_ context.Context, g Grant) error {
	return create(&m.mu, m.grants, g.ID, cloneGrant(g))
}

// GetGrant returns a grant.
func (m *MemoryStore) GetGrant(_ context.Context, id string) (Grant, error) {
	g, err := get(&m.mu, m.grants, id)
	return cloneGrant(g), err
}

// UpdateGrant changes a grant through fn.
func (m *MemoryStore) UpdateGrant(_ context.Context, id string, fn func(*Grant) error) (Grant, error) {
	return update(&m.mu, m.grants, id, cloneGrant, fn)
}

// CreateRefresh stores a new refresh token.
func (m *MemoryStore) CreateRefresh(_ context.Context, t RefreshToken) error {
	return create(&m.mu, m.refresh, t.Hash, t)
}

// GetRefresh returns a refresh token.
func (m *MemoryStore) GetRefresh(_ context.Context, hash string) (RefreshToken, error) {
	return get(&m.mu, m.refresh, hash)
}

// UpdateRefresh changes a refresh token through fn.
func (m *MemoryStore) UpdateRefresh(_ context.Context, hash string, fn func(*RefreshToken) error) (RefreshToken, error) {
	return update(&m.mu, m.refresh, hash, same, fn)
}

// PutAccess stores or replaces an access-token record.
func (m *MemoryStore) PutAccess(_ context.Context, a AccessRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.access[a.JTI]; ok && old.Revoked {
		a.Revoked, a.KeyGen = true, max(a.KeyGen, old.KeyGen) // revocation is final
	}
	m.access[a.JTI] = a
	return nil
}

// AccessActive reports whether jti is neither revoked nor part of a
// revoked or forgotten grant; an unknown jti is active unless recorded.
func (m *MemoryStore) AccessActive(_ context.Context, jti string, recorded bool) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	a, ok := m.access[jti]
	if !ok {
		return !recorded, nil
	}
	if a.Revoked {
		return false, nil
	}
	if a.GrantID != "" {
		if g, ok := m.grants[a.GrantID]; !ok || g.Revoked {
			return false, nil
		}
	}
	return true, nil
}
