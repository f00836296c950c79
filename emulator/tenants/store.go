package tenants

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/fixtures"
)

// Store errors, checked with errors.Is.
var (
	// ErrNotFound: no tenant has this id (or token digest).
	ErrNotFound = errors.New("tenants: not found")
	// ErrExists: a tenant already has this id.
	ErrExists = errors.New("tenants: exists")
)

// Tenant is a stored tenant. Its tokens are kept only as digests
// (Digest): the tokens themselves are shown once, when made.
type Tenant struct {
	ID     string
	Name   string
	Locale string
	Policy fixtures.Policy
	Users  []fixtures.User
	// AdminTokenDigest and ControlTokenDigest are the hex SHA-256 of the
	// tenant's administrator token (scheme adminToken) and control token
	// (the tenant's own /_sandbox operations); an empty digest: no token.
	AdminTokenDigest   string
	ControlTokenDigest string
	// SelfReview lets the control token decide the tenant's own access
	// requests.
	SelfReview bool
	// Fixture says the tenant was seeded from the fixtures at start.
	Fixture bool
	// Template is the fixture tenant this one was created as a copy of
	// (its policy, users and seeded cases); "" for none.
	Template  string
	CreatedAt time.Time
}

// Store keeps the tenants. Every implementation passes
// emulator/tenants/storetest.
type Store interface {
	// CreateTenant stores t; ErrExists when its id is taken.
	CreateTenant(ctx context.Context, t Tenant) error
	// GetTenant returns the tenant id, or ErrNotFound.
	GetTenant(ctx context.Context, id string) (Tenant, error)
	// TenantByTokenDigest returns the tenant whose admin or control token
	// has digest, and which of them ("admin" or "control"); ErrNotFound
	// when none has it. An empty digest matches nothing.
	TenantByTokenDigest(ctx context.Context, digest string) (Tenant, string, error)
	// ListTenants returns every tenant, oldest first (ties by id).
	ListTenants(ctx context.Context) ([]Tenant, error)
	// UpdateTenant applies fn to the stored tenant atomically; an error
	// from fn changes nothing. fn cannot change the id.
	UpdateTenant(ctx context.Context, id string, fn func(*Tenant) error) (Tenant, error)
	// DeleteTenant removes the tenant, or answers ErrNotFound.
	DeleteTenant(ctx context.Context, id string) error
}

// Token kinds TenantByTokenDigest reports.
const (
	KindAdmin   = "admin"
	KindControl = "control"
)

// MemoryStore is the in-memory Store, safe for concurrent use.
type MemoryStore struct {
	mu      sync.RWMutex
	tenants map[string]Tenant
	digests map[string]tokenOwner
}

type tokenOwner struct{ id, kind string }

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{tenants: map[string]Tenant{}, digests: map[string]tokenOwner{}}
}

func clone(t Tenant) Tenant {
	t.Policy.ApprovedScopes = slices.Clone(t.Policy.ApprovedScopes)
	t.Policy.GrantTypes = slices.Clone(t.Policy.GrantTypes)
	t.Policy.RedirectURIPatterns = slices.Clone(t.Policy.RedirectURIPatterns)
	users := make([]fixtures.User, len(t.Users))
	for i, u := range t.Users {
		u.Claims = maps.Clone(u.Claims)
		users[i] = u
	}
	t.Users = users
	return t
}

// CreateTenant implements Store.
func (s *MemoryStore) CreateTenant(_ context.Context, t Tenant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tenants[t.ID]; ok {
		return ErrExists
	}
	s.tenants[t.ID] = clone(t)
	s.index(t)
	return nil
}

func (s *MemoryStore) index(t Tenant) {
	if t.AdminTokenDigest != "" {
		s.digests[t.AdminTokenDigest] = tokenOwner{t.ID, KindAdmin}
	}
	if t.ControlTokenDigest != "" {
		s.digests[t.ControlTokenDigest] = tokenOwner{t.ID, KindControl}
	}
}

func (s *MemoryStore) unindex(t Tenant) {
	for _, d := range []string{t.AdminTokenDigest, t.ControlTokenDigest} {
		if o, ok := s.digests[d]; ok && o.id == t.ID {
			delete(s.digests, d)
		}
	}
}

// GetTenant implements Store.
func (s *MemoryStore) GetTenant(_ context.Context, id string) (Tenant, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.tenants[id]
	if !ok {
		return Tenant{}, ErrNotFound
	}
	return clone(t), nil
}

// TenantByTokenDigest implements Store.
func (s *MemoryStore) TenantByTokenDigest(_ context.Context, digest string) (Tenant, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if digest == "" {
		return Tenant{}, "", ErrNotFound
	}
	o, ok := s.digests[digest]
	if !ok {
		return Tenant{}, "", ErrNotFound
	}
	return clone(s.tenants[o.id]), o.kind, nil
}

// ListTenants implements Store.
func (s *MemoryStore) ListTenants(_ context.Context) ([]Tenant, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Tenant, 0, len(s.tenants))
	for _, t := range s.tenants {
		out = append(out, clone(t))
	}
	slices.SortFunc(out, func(a, b Tenant) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// UpdateTenant implements Store.
func (s *MemoryStore) UpdateTenant(_ context.Context, id string, fn func(*Tenant) error) (Tenant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.tenants[id]
	if !ok {
		return Tenant{}, ErrNotFound
	}
	t := clone(old)
	if err := fn(&t); err != nil {
		return Tenant{}, err
	}
	t.ID = id
	s.unindex(old)
	s.tenants[id] = clone(t)
	s.index(t)
	return clone(t), nil
}

// DeleteTenant implements Store.
func (s *MemoryStore) DeleteTenant(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tenants[id]
	if !ok {
		return ErrNotFound
	}
	s.unindex(t)
	delete(s.tenants, id)
	return nil
}
