package platform

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Store errors, checked with errors.Is.
var (
	// ErrNotFound: no such record in the tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a record with the same key exists.
	ErrConflict = errors.New("conflict")
	// ErrLimitReached is matched by the *core.LimitError a store returns
	// when a write would take a tenant or an app past one of its Limits.
	ErrLimitReached = core.ErrLimitReached
)

// Default limits of a store; Limits documents each.
const (
	DefaultAppsPerTenant           = 500
	DefaultSecretsPerApp           = 5
	DefaultServiceTokensPerApp     = 100
	DefaultAccessRequestsPerTenant = 200
	DefaultAuditEventsPerTenant    = 10000
	DefaultEnvironmentsPerTenant   = 20
)

// Limits bounds what one tenant keeps in a Store, so no tenant can grow
// the sandbox's memory without bound. A zero field takes its default.
// Refusals are *core.LimitError values decided inside the store's write.
type Limits struct {
	// AppsPerTenant bounds a tenant's registered apps (CreateApp).
	AppsPerTenant int
	// SecretsPerApp bounds an app's client secrets: the current one and
	// those still in their rotation grace (rotation drops expired ones).
	SecretsPerApp int
	// ServiceTokensPerApp bounds the service-token records an app keeps;
	// revoked and expired records make room for new tokens, so it is the
	// number of active tokens that is refused past it.
	ServiceTokensPerApp int
	// AccessRequestsPerTenant bounds a tenant's reviewed-access requests,
	// decided or not.
	AccessRequestsPerTenant int
	// AuditEventsPerTenant is the audit retention: past it, appending
	// drops the tenant's oldest event.
	AuditEventsPerTenant int
	// EnvironmentsPerTenant bounds the environment records a tenant
	// requests through environment onboarding.
	EnvironmentsPerTenant int
}

// withDefaults fills the zero (or negative) fields.
func (l Limits) withDefaults() Limits {
	for _, f := range []struct {
		v   *int
		def int
	}{{&l.AppsPerTenant, DefaultAppsPerTenant}, {&l.SecretsPerApp, DefaultSecretsPerApp},
		{&l.ServiceTokensPerApp, DefaultServiceTokensPerApp}, {&l.AccessRequestsPerTenant, DefaultAccessRequestsPerTenant},
		{&l.AuditEventsPerTenant, DefaultAuditEventsPerTenant}, {&l.EnvironmentsPerTenant, DefaultEnvironmentsPerTenant}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	return l
}

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
	// Public marks a public client (token_endpoint_auth_method none): no
	// secret, PKCE required.
	Public    bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AuditEvent is an entry of a tenant's audit trail.
type AuditEvent struct {
	ID string
	// Seq is the event's position in its tenant's trail (1 for the first
	// event since the store was cleared), assigned by AppendAudit. It
	// keeps counting when retention drops old events, so it is a stable
	// paging cursor.
	Seq        int
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

// Environment is an environment record requested through environment
// onboarding. It is a record of the request, not a runtime tenant: it is
// provisioning until ReadyAt on the sandbox clock, then ready.
type Environment struct {
	ID        string
	Tenant    string
	Name      string
	Region    string
	CreatedAt time.Time
	ReadyAt   time.Time
}

// AuditQuery asks Store.ListAudit for one page of a tenant's trail.
type AuditQuery struct {
	// After is the Seq of the last event already read; 0 starts from the
	// oldest event kept.
	After int
	// Limit bounds the page; below 1 it is one event.
	Limit int
	// Target, when set, keeps only the events about that resource.
	Target string
}

// Match reports whether e belongs in the query's pages (After aside).
func (q AuditQuery) Match(e *AuditEvent) bool { return q.Target == "" || e.Target == q.Target }

// Store persists the platform surface's aggregates. Every implementation
// passes the suite in platform/storetest. Lookups are tenant-scoped except
// AppByClientID, which the token endpoint needs before it knows the tenant.
//
// Every write that could take a tenant past one of the store's Limits
// checks it inside the write (under the lock that makes the write atomic)
// and refuses with a *core.LimitError: a count taken before the write
// would let concurrent writers all pass it.
type Store interface {
	// CreateApp refuses past Limits.AppsPerTenant, or an app with more
	// secrets or service tokens than an app may keep.
	CreateApp(ctx context.Context, a App) error
	GetApp(ctx context.Context, tenant, id string) (App, error)
	AppByClientID(ctx context.Context, clientID string) (App, error)
	// ListApps returns one page of tenant's apps in creation order: at
	// most limit of them (below 1: one), after the position after (0:
	// from the first). next is the position to pass as after for the
	// following page, 0 when this page is the last. Positions are the
	// store's, never reused for another app of the tenant, so an app
	// deleted between two pages moves no other app from one to the other.
	// A page costs what it returns, however many apps the tenant has.
	ListApps(ctx context.Context, tenant string, after, limit int) (apps []App, next int, err error)
	// UpdateApp applies fn to the stored app atomically; an error from fn
	// leaves the app unchanged, and so does a result with more secrets or
	// service tokens than Limits allow (a *core.LimitError). fn runs under
	// the store's lock: it must not call the store.
	UpdateApp(ctx context.Context, tenant, id string, fn func(*App) error) (App, error)
	DeleteApp(ctx context.Context, tenant, id string) (App, error)

	// AppendAudit assigns e its Seq and appends it to its tenant's trail,
	// dropping the oldest event past Limits.AuditEventsPerTenant.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns one page of the events the tenant's trail keeps
	// that match q, oldest first: at most q.Limit of them, each with a Seq
	// above q.After. next is the Seq of the page's last event when more
	// matching events follow (the After of the following page), else 0.
	// Without a Target, a page costs what it returns however long the
	// trail; with one, at most the retention's events are read.
	ListAudit(ctx context.Context, tenant string, q AuditQuery) (events []AuditEvent, next int, err error)

	// CreateAccessRequest refuses past Limits.AccessRequestsPerTenant.
	CreateAccessRequest(ctx context.Context, r AccessRequest) error
	GetAccessRequest(ctx context.Context, tenant, id string) (AccessRequest, error)
	// AccessRequestByID finds a request in any tenant (control plane).
	AccessRequestByID(ctx context.Context, id string) (AccessRequest, error)
	ListAccessRequests(ctx context.Context, tenant string) ([]AccessRequest, error)
	UpdateAccessRequest(ctx context.Context, id string, fn func(*AccessRequest) error) (AccessRequest, error)

	// CreateEnvironment refuses past Limits.EnvironmentsPerTenant.
	CreateEnvironment(ctx context.Context, e Environment) error
	GetEnvironment(ctx context.Context, tenant, id string) (Environment, error)
	// ListEnvironments returns the tenant's environments, oldest first.
	ListEnvironments(ctx context.Context, tenant string) ([]Environment, error)

	// Reset removes everything, or everything but the apps when keepApps.
	Reset(ctx context.Context, keepApps bool) error
	// DeleteTenant removes everything of tenant (apps, audit trail,
	// access requests, environments), or everything but its apps when
	// keepApps; other tenants' records are untouched.
	DeleteTenant(ctx context.Context, tenant string, keepApps bool) error

	// Limits reports the limits the store enforces, defaults filled in.
	Limits() Limits
}

// MemoryStore is the default, concurrency-safe in-memory Store. Every
// per-tenant collection is indexed by tenant, so a tenant's operations cost
// what that tenant stores, not what the whole sandbox does.
type MemoryStore struct {
	limits Limits

	mu       sync.RWMutex
	apps     map[string]*App // by id
	byClient map[string]string
	appOrder map[string][]appRef // apps by tenant, in creation order
	appSeq   map[string]int      // the last app position handed out, by tenant
	audit    map[string]*auditRing
	requests map[string]*AccessRequest
	reqOrder map[string][]string      // request ids by tenant, in creation order
	envs     map[string][]Environment // by tenant, in creation order
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore enforcing limits (zero
// fields take their defaults).
func NewMemoryStore(limits Limits) *MemoryStore {
	s := &MemoryStore{limits: limits.withDefaults()}
	_ = s.Reset(context.Background(), false)
	return s
}

// Limits reports the limits the store enforces.
func (s *MemoryStore) Limits() Limits { return s.limits }

func cloneApp(a *App) App { return a.Clone() }

// Clone copies a with the slices it holds, so that changing the copy
// leaves a as it was (stores hand out copies).
func (a *App) Clone() App {
	c := *a
	c.GrantTypes = slices.Clone(a.GrantTypes)
	c.RedirectURIs = slices.Clone(a.RedirectURIs)
	c.Scopes = slices.Clone(a.Scopes)
	c.Secrets = slices.Clone(a.Secrets)
	c.ServiceTokens = slices.Clone(a.ServiceTokens)
	for i := range c.ServiceTokens {
		c.ServiceTokens[i].Scopes = slices.Clone(c.ServiceTokens[i].Scopes)
	}
	return c
}

// checkApp refuses an app holding more than an app may keep.
func (l Limits) checkApp(a *App) error {
	if len(a.Secrets) > l.SecretsPerApp {
		return SecretsLimitError(l.SecretsPerApp)
	}
	if len(a.ServiceTokens) > l.ServiceTokensPerApp {
		return ServiceTokensLimitError(l.ServiceTokensPerApp)
	}
	return nil
}

// SecretsLimitError is the refusal of a rotation past Limits.SecretsPerApp.
func SecretsLimitError(maxSecrets int) *core.LimitError {
	return &core.LimitError{Limit: "live client secrets per app", Max: maxSecrets,
		Hint: "rotate with grace_period_seconds 0, or wait until a secret in its grace period expires"}
}

// ServiceTokensLimitError is the refusal of a service token past
// Limits.ServiceTokensPerApp.
func ServiceTokensLimitError(maxTokens int) *core.LimitError {
	return &core.LimitError{Limit: "active service tokens per app", Max: maxTokens,
		Hint: "revoke one, or wait until one expires"}
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
	if len(s.appOrder[a.Tenant]) >= s.limits.AppsPerTenant {
		return &core.LimitError{Limit: "apps per tenant", Max: s.limits.AppsPerTenant, Hint: "delete an app first"}
	}
	if err := s.limits.checkApp(&a); err != nil {
		return err
	}
	c := cloneApp(&a)
	s.apps[a.ID] = &c
	s.byClient[a.ClientID] = a.ID
	s.appSeq[a.Tenant]++
	s.appOrder[a.Tenant] = append(s.appOrder[a.Tenant], appRef{seq: s.appSeq[a.Tenant], id: a.ID})
	return nil
}

// appRef is an app's place in its tenant's order.
type appRef struct {
	seq int
	id  string
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

// ListApps returns a page of tenant's apps in creation order, found by
// binary search on their positions.
func (s *MemoryStore) ListApps(_ context.Context, tenant string, after, limit int) ([]App, int, error) {
	limit = max(limit, 1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	order := s.appOrder[tenant]
	start, _ := slices.BinarySearchFunc(order, after+1, func(r appRef, seq int) int { return cmp.Compare(r.seq, seq) })
	end := min(start+limit, len(order))
	out := make([]App, 0, end-start)
	for _, r := range order[start:end] {
		out = append(out, cloneApp(s.apps[r.id]))
	}
	next := 0
	if end < len(order) {
		next = order[end-1].seq
	}
	return out, next, nil
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
	if err := s.limits.checkApp(&c); err != nil {
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
	s.appOrder[tenant] = slices.DeleteFunc(s.appOrder[tenant], func(r appRef) bool { return r.id == id })
	return cloneApp(a), nil
}

// auditRing is a tenant's trail: it grows up to the retention, then each
// append overwrites the oldest event, so appending costs O(1) and the
// trail never holds more than the retention.
type auditRing struct {
	events []AuditEvent
	next   int // the oldest event's index once full: where the next one goes
	total  int // events appended since the store was cleared
}

func (r *auditRing) add(e AuditEvent, retention int) {
	r.total++
	e.Seq = r.total
	if len(r.events) < retention {
		r.events = append(r.events, e)
		return
	}
	r.events[r.next] = e
	r.next = (r.next + 1) % len(r.events)
}

// page copies the events of q's page, oldest first. The ring holds
// consecutive positions (the oldest is total-len+1), so the page's first
// candidate is found by arithmetic and an unfiltered page reads only
// what it returns.
func (r *auditRing) page(q AuditQuery) ([]AuditEvent, int) {
	limit := max(q.Limit, 1)
	oldest := r.total - len(r.events) + 1
	var out []AuditEvent
	for i := max(q.After-oldest+1, 0); i < len(r.events); i++ {
		e := &r.events[(r.next+i)%len(r.events)]
		if !q.Match(e) {
			continue
		}
		if len(out) == limit {
			return out, out[limit-1].Seq
		}
		out = append(out, *e)
	}
	return out, 0
}

// AppendAudit appends e to its tenant's trail.
func (s *MemoryStore) AppendAudit(_ context.Context, e AuditEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.audit[e.Tenant]
	if r == nil {
		r = &auditRing{}
		s.audit[e.Tenant] = r
	}
	r.add(e, s.limits.AuditEventsPerTenant)
	return nil
}

// ListAudit returns a page of tenant's trail, oldest first.
func (s *MemoryStore) ListAudit(_ context.Context, tenant string, q AuditQuery) ([]AuditEvent, int, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.audit[tenant]
	if r == nil {
		return nil, 0, nil
	}
	out, next := r.page(q)
	return out, next, nil
}

// CreateAccessRequest stores r.
func (s *MemoryStore) CreateAccessRequest(_ context.Context, r AccessRequest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.requests[r.ID]; ok {
		return ErrConflict
	}
	if len(s.reqOrder[r.Tenant]) >= s.limits.AccessRequestsPerTenant {
		return &core.LimitError{Limit: "access requests per tenant", Max: s.limits.AccessRequestsPerTenant,
			Hint: "requests are kept until POST /_sandbox/reset"}
	}
	r.RequestedScopes = slices.Clone(r.RequestedScopes)
	s.requests[r.ID] = &r
	s.reqOrder[r.Tenant] = append(s.reqOrder[r.Tenant], r.ID)
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
	for _, id := range s.reqOrder[tenant] {
		r := s.requests[id]
		c := *r
		c.RequestedScopes = slices.Clone(r.RequestedScopes)
		out = append(out, c)
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
		s.apps, s.byClient = map[string]*App{}, map[string]string{}
		s.appOrder, s.appSeq = map[string][]appRef{}, map[string]int{}
	}
	s.audit = map[string]*auditRing{}
	s.requests, s.reqOrder = map[string]*AccessRequest{}, map[string][]string{}
	s.envs = map[string][]Environment{}
	return nil
}

// DeleteTenant removes the tenant's records (but its apps when keepApps).
func (s *MemoryStore) DeleteTenant(_ context.Context, tenant string, keepApps bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !keepApps {
		for _, r := range s.appOrder[tenant] {
			if a, ok := s.apps[r.id]; ok {
				delete(s.byClient, a.ClientID)
				delete(s.apps, r.id)
			}
		}
		delete(s.appOrder, tenant)
		delete(s.appSeq, tenant)
	}
	delete(s.audit, tenant)
	for _, id := range s.reqOrder[tenant] {
		delete(s.requests, id)
	}
	delete(s.reqOrder, tenant)
	delete(s.envs, tenant)
	return nil
}

// CreateEnvironment stores e.
func (s *MemoryStore) CreateEnvironment(_ context.Context, e Environment) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.envs[e.Tenant]
	if slices.ContainsFunc(list, func(x Environment) bool { return x.ID == e.ID }) {
		return ErrConflict
	}
	if len(list) >= s.limits.EnvironmentsPerTenant {
		return &core.LimitError{Limit: "environments per tenant", Max: s.limits.EnvironmentsPerTenant,
			Hint: "environments are kept until POST /_sandbox/reset"}
	}
	s.envs[e.Tenant] = append(list, e)
	return nil
}

// GetEnvironment returns tenant's environment id.
func (s *MemoryStore) GetEnvironment(_ context.Context, tenant, id string) (Environment, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, e := range s.envs[tenant] {
		if e.ID == id {
			return e, nil
		}
	}
	return Environment{}, ErrNotFound
}

// ListEnvironments returns tenant's environments, oldest first.
func (s *MemoryStore) ListEnvironments(_ context.Context, tenant string) ([]Environment, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.envs[tenant]), nil
}
