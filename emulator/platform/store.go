package platform

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// Store errors, checked with errors.Is.
var (
	// ErrNotFound: no such record in the tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a record with the same key exists.
	ErrConflict = errors.New("conflict")
)

// Approval states of an app's scopes, grant types and redirect URIs.
const (
	Approved = "approved"
	Pending  = "pending"
	Denied   = "denied"
)

// Item is one requested scope, grant type or redirect URI and its approval.
type Item struct {
	Value  string
	Status string
}

// Secret is a client secret, kept only as a SHA-256 hash: secrets are 256
// random bits, so a fast hash is as strong as a slow one and keeps the token
// endpoint fast.
type Secret struct {
	ID        string
	Hash      [32]byte
	CreatedAt time.Time
	// ExpiresAt is zero for the current secret.
	ExpiresAt time.Time
}

// ServiceToken is the metadata of a minted service token.
type ServiceToken struct {
	ID          string
	Description string
	Scopes      []string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	Revoked     bool
}

// App is a registered integration app.
type App struct {
	ID            string
	ClientID      string
	Tenant        string
	Name          string
	GrantTypes    []Item
	RedirectURIs  []Item
	Scopes        []Item
	Secrets       []Secret
	ServiceTokens []ServiceToken
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// AuditEvent is an entry of a tenant's audit trail.
type AuditEvent struct {
	ID         string
	Tenant     string
	Action     string
	ActorType  string
	ActorID    string
	Target     string
	Details    map[string]any
	OccurredAt time.Time
}

// AccessRequest is a reviewed-access request for a partner capability.
type AccessRequest struct {
	ID              string
	Tenant          string
	Capability      string
	UseCase         string
	RequestedScopes []string
	Status          string
	DecisionReason  string
	CreatedAt       time.Time
	DecidedAt       time.Time
}

// Store persists the platform surface's aggregates. Every implementation
// passes the suite in platform/storetest. Lookups are tenant-scoped except
// AppByClientID, which the token endpoint needs before it knows the tenant.
type Store interface {
	CreateApp(ctx context.Context, a App) error
	GetApp(ctx context.Context, tenant, id string) (App, error)
	AppByClientID(ctx context.Context, clientID string) (App, error)
	ListApps(ctx context.Context, tenant string) ([]App, error)
	// UpdateApp applies fn to the stored app atomically; an error from fn
	// leaves the app unchanged. fn runs under the store's lock: it must not
	// call the store.
	UpdateApp(ctx context.Context, tenant, id string, fn func(*App) error) (App, error)
	DeleteApp(ctx context.Context, tenant, id string) (App, error)

	AppendAudit(ctx context.Context, e AuditEvent) error
	ListAudit(ctx context.Context, tenant string) ([]AuditEvent, error)

	CreateAccessRequest(ctx context.Context, r AccessRequest) error
	GetAccessRequest(ctx context.Context, tenant, id string) (AccessRequest, error)
	// AccessRequestByID finds a request in any tenant (control plane).
	AccessRequestByID(ctx context.Context, id string) (AccessRequest, error)
	ListAccessRequests(ctx context.Context, tenant string) ([]AccessRequest, error)
	UpdateAccessRequest(ctx context.Context, id string, fn func(*AccessRequest) error) (AccessRequest, error)

	// Reset removes everything, or everything but the apps when keepApps.
	Reset(ctx context.Context, keepApps bool) error
}

// MemoryStore is the default, concurrency-safe in-memory Store.
type MemoryStore struct {
	mu       sync.RWMutex
	apps     map[string]*App // by id
	byClient map[string]string
	order    []string
	audit    map[string][]AuditEvent
	requests map[string]*AccessRequest
	reqOrder []string
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	s := &MemoryStore{}
	_ = s.Reset(context.Background(), false)
	return s
}

func cloneApp(a *App) App {
	c := *a
	c.GrantTypes = slices.Clone(a.GrantTypes)
	c.RedirectURIs = slices.Clone(a.RedirectURIs)
	c.Scopes = slices.Clone(a.Scopes)
	c.Secrets = slices.Clone(a.Secrets)
	c.ServiceTokens = slices.Clone(a.ServiceTokens)
	return c
}

// CreateApp stores a new app.
func (s *MemoryStore) CreateApp(_ context.Context, a App) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.apps[a.ID]; ok {
		return ErrConflict
	}
	if _, ok := s.byClient[a.ClientID]; ok {
		return ErrConflict
	}
	c := cloneApp(&a)
	s.apps[a.ID] = &c
	s.byClient[a.ClientID] = a.ID
	s.order = append(s.order, a.ID)
	return nil
}

// GetApp returns the app id of tenant.
func (s *MemoryStore) GetApp(_ context.Context, tenant, id string) (App, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.apps[id]
	if !ok || a.Tenant != tenant {
		return App{}, ErrNotFound
	}
	return cloneApp(a), nil
}

// AppByClientID returns the app with clientID in any tenant.
func (s *MemoryStore) AppByClientID(_ context.Context, clientID string) (App, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.byClient[clientID]
	if !ok {
		return App{}, ErrNotFound
	}
	return cloneApp(s.apps[id]), nil
}

// ListApps returns tenant's apps in creation order.
func (s *MemoryStore) ListApps(_ context.Context, tenant string) ([]App, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []App
	for _, id := range s.order {
		if a := s.apps[id]; a.Tenant == tenant {
			out = append(out, cloneApp(a))
		}
	}
	return out, nil
}

// UpdateApp applies fn atomically.
func (s *MemoryStore) UpdateApp(_ context.Context, tenant, id string, fn func(*App) error) (App, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[id]
	if !ok || a.Tenant != tenant {
		return App{}, ErrNotFound
	}
	c := cloneApp(a)
	if err := fn(&c); err != nil {
		return App{}, err
	}
	c.ID, c.ClientID, c.Tenant = a.ID, a.ClientID, a.Tenant
	s.apps[id] = &c
	return cloneApp(&c), nil
}

// DeleteApp removes the app and returns it.
func (s *MemoryStore) DeleteApp(_ context.Context, tenant, id string) (App, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[id]
	if !ok || a.Tenant != tenant {
		return App{}, ErrNotFound
	}
	delete(s.apps, id)
	delete(s.byClient, a.ClientID)
	s.order = slices.DeleteFunc(s.order, func(x string) bool { return x == id })
	return cloneApp(a), nil
}

// AppendAudit appends e to its tenant's trail.
func (s *MemoryStore) AppendAudit(_ context.Context, e AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audit[e.Tenant] = append(s.audit[e.Tenant], e)
	return nil
}

// ListAudit returns tenant's trail, oldest first.
func (s *MemoryStore) ListAudit(_ context.Context, tenant string) ([]AuditEvent, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.audit[tenant]), nil
}

// CreateAccessRequest stores r.
func (s *MemoryStore) CreateAccessRequest(_ context.Context, r AccessRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.requests[r.ID]; ok {
		return ErrConflict
	}
	r.RequestedScopes = slices.Clone(r.RequestedScopes)
	s.requests[r.ID] = &r
	s.reqOrder = append(s.reqOrder, r.ID)
	return nil
}

// GetAccessRequest returns tenant's request id.
func (s *MemoryStore) GetAccessRequest(ctx context.Context, tenant, id string) (AccessRequest, error) {
	r, err := s.AccessRequestByID(ctx, id)
	if err != nil || r.Tenant != tenant {
		return AccessRequest{}, ErrNotFound
	}
	return r, nil
}

// AccessRequestByID returns request id of any tenant.
func (s *MemoryStore) AccessRequestByID(_ context.Context, id string) (AccessRequest, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.requests[id]
	if !ok {
		return AccessRequest{}, ErrNotFound
	}
	c := *r
	c.RequestedScopes = slices.Clone(r.RequestedScopes)
	return c, nil
}

// ListAccessRequests returns tenant's requests, oldest first.
func (s *MemoryStore) ListAccessRequests(_ context.Context, tenant string) ([]AccessRequest, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []AccessRequest
	for _, id := range s.reqOrder {
		if r := s.requests[id]; r.Tenant == tenant {
			c := *r
			c.RequestedScopes = slices.Clone(r.RequestedScopes)
			out = append(out, c)
		}
	}
	return out, nil
}

// UpdateAccessRequest applies fn atomically.
func (s *MemoryStore) UpdateAccessRequest(_ context.Context, id string, fn func(*AccessRequest) error) (AccessRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.requests[id]
	if !ok {
		return AccessRequest{}, ErrNotFound
	}
	c := *r
	c.RequestedScopes = slices.Clone(r.RequestedScopes)
	if err := fn(&c); err != nil {
		return AccessRequest{}, err
	}
	c.ID, c.Tenant = r.ID, r.Tenant
	s.requests[id] = &c
	return c, nil
}

// Reset empties the store, keeping apps when keepApps.
func (s *MemoryStore) Reset(_ context.Context, keepApps bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !keepApps || s.apps == nil {
		s.apps, s.byClient, s.order = map[string]*App{}, map[string]string{}, nil
	}
	s.audit = map[string][]AuditEvent{}
	s.requests, s.reqOrder = map[string]*AccessRequest{}, nil
	return nil
}
