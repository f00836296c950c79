package tenants

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
	// ListTenants returns one page of the tenants, oldest first (by
	// creation time to the microsecond, ties by id): at most limit of them
	// (below 1: one) that come after the cursor after (the zero Cursor:
	// from the first). next is the cursor of the page's last tenant when
	// more follow, else the zero Cursor. A tenant deleted between two pages
	// moves no other, and a page costs what it returns, however many
	// tenants there are.
	ListTenants(ctx context.Context, after Cursor, limit int) (page []Tenant, next Cursor, err error)
	// UpdateTenant applies fn to the stored tenant atomically; an error
	// from fn changes nothing. fn cannot change the id.
	UpdateTenant(ctx context.Context, id string, fn func(*Tenant) error) (Tenant, error)
	// DeleteTenant removes the tenant, or answers ErrNotFound.
	DeleteTenant(ctx context.Context, id string) error
}

// Cursor is a tenant's place in the order of ListTenants: its creation
// time in Unix microseconds, then its id. The zero Cursor is before the
// first tenant.
type Cursor struct {
	At int64
	ID string
}

// CursorOf is t's place in the order of ListTenants.
func CursorOf(t Tenant) Cursor { return Cursor{At: t.CreatedAt.UnixMicro(), ID: t.ID} }

// Compare orders cursors as ListTenants orders tenants.
func (c Cursor) Compare(o Cursor) int {
	if n := cmp.Compare(c.At, o.At); n != 0 {
		return n
	}
	return strings.Compare(c.ID, o.ID)
}

// String renders c as an opaque page cursor: URL-safe base64 of the time
// (8 bytes, big-endian) and the id (64 characters for an id of 40 bytes,
// the longest a tenant created at run time has). ParseCursor reads it back.
func (c Cursor) String() string {
	b := binary.BigEndian.AppendUint64(nil, uint64(c.At))
	return base64.RawURLEncoding.EncodeToString(append(b, c.ID...))
}

// ErrBadCursor is ParseCursor's answer to a cursor that String did not make.
var ErrBadCursor = errors.New("tenants: not a page cursor")

// ParseCursor reads a cursor of Cursor.String; "" is the zero Cursor. A
// cursor it did not make (bad base64, too short for a time and an id, an
// id that is not UTF-8) is ErrBadCursor. Fixture tenants' ids follow no
// pattern, so any other id is taken as it is: a cursor made up of one
// only places the page somewhere in the order.
func ParseCursor(s string) (Cursor, error) {
	if s == "" {
		return Cursor{}, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 9 || !utf8.Valid(b[8:]) {
		return Cursor{}, ErrBadCursor
	}
	return Cursor{At: int64(binary.BigEndian.Uint64(b)), ID: string(b[8:])}, nil
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
	order   []Cursor // of every tenant, sorted: ListTenants' order
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
	c := CursorOf(t)
	i, _ := slices.BinarySearchFunc(s.order, c, Cursor.Compare)
	s.order = slices.Insert(s.order, i, c)
	return nil
}

// unorder drops t from the order.
func (s *MemoryStore) unorder(t Tenant) {
	if i, ok := slices.BinarySearchFunc(s.order, CursorOf(t), Cursor.Compare); ok {
		s.order = slices.Delete(s.order, i, i+1)
	}
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

// ListTenants implements Store: a binary search in the order, then the
// page.
func (s *MemoryStore) ListTenants(_ context.Context, after Cursor, limit int) ([]Tenant, Cursor, error) {
	limit = max(limit, 1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	start := 0
	if after != (Cursor{}) {
		i, found := slices.BinarySearchFunc(s.order, after, Cursor.Compare)
		if found {
			i++
		}
		start = i
	}
	end := min(start+limit, len(s.order))
	out := make([]Tenant, 0, end-start)
	for _, c := range s.order[start:end] {
		out = append(out, clone(s.tenants[c.ID]))
	}
	var next Cursor
	if end < len(s.order) {
		next = s.order[end-1]
	}
	return out, next, nil
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
	s.unorder(old)
	s.tenants[id] = clone(t)
	s.index(t)
	c := CursorOf(t)
	i, _ := slices.BinarySearchFunc(s.order, c, Cursor.Compare)
	s.order = slices.Insert(s.order, i, c)
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
	s.unorder(t)
	delete(s.tenants, id)
	return nil
}
