// Package tenants is the sandbox's tenant registry: the fixture tenants,
// seeded at start, and the tenants an operator creates at run time, each
// with its policy, users and the digests of its administrator and control
// tokens. The surfaces look tenants up through it (each through the small
// directory interface it declares); the control plane manages it.
package tenants

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/internal/schemaissue"
)

// Config configures a Registry. Clock, IDs and Fixtures are required.
type Config struct {
	Clock    core.Clock
	IDs      *core.IDs
	Fixtures *fixtures.Set
	// Store defaults to a MemoryStore. The fixture tenants are seeded into
	// it at start; one it already holds is kept as stored.
	Store Store
	// KeepStored seeds nothing: the store was seeded by an earlier start
	// (a durable sandbox), and what it holds is kept as it is, a fixture
	// tenant deleted since included.
	KeepStored bool
	// Cache keeps the answers of lookups by id and by token digest in
	// memory (absences included), for a store whose lookups cost a
	// database round trip. The registry's own changes clear it; whoever
	// shares the store with another process calls Invalidate whenever
	// that process may have changed it (before each request, on a moved
	// version).
	Cache bool
}

// Registry is the tenant registry.
type Registry struct {
	clock core.Clock
	ids   *core.IDs
	fx    *fixtures.Set
	store Store
	cache *cache // nil: every lookup asks the store
	// claims is the last answer of ClaimNames, valid while its gen is
	// claimsGen: every change (Invalidate) moves claimsGen.
	claims    atomic.Pointer[claimNames]
	claimsGen atomic.Uint64
}

// claimNames is an answer of ClaimNames and the generation it was read in.
type claimNames struct {
	gen   uint64
	names []string
}

// cache holds the tenants looked up, and the ids and digests found to
// name none (at most maxAbsent of those, so a flood of unknown tokens
// cannot grow it), at most maxCached answers in all (so a registry of
// many tenants cannot grow the process: past it the cache starts again
// empty, and a working set larger than it costs a query now and then):
// every change of the store empties it, the registry's
// own at once and another process's through Invalidate. gen grows with
// every Invalidate: a lookup keeps what it read only if no Invalidate
// came between.
type cache struct {
	gen      atomic.Uint64
	mu       sync.RWMutex
	byID     map[string]cachedTenant
	byDigest map[string]cachedTenant
	absent   int
}

// cachedTenant is a lookup's answer: the tenant and the token's kind, or
// (found false) that there is none.
type cachedTenant struct {
	t     Tenant
	kind  string
	found bool
}

// maxAbsent bounds the absences a cache keeps.
const maxAbsent = 4096

// maxCached bounds the answers a cache keeps, absences included: about
// 2 KB each for a tenant with a few users.
const maxCached = 8192

// put keeps a lookup's answer unless an Invalidate came since gen.
func (c *cache) put(m map[string]cachedTenant, key string, v cachedTenant, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen.Load() != gen {
		return
	}
	if !v.found {
		if c.absent >= maxAbsent {
			return
		}
		c.absent++
	}
	if len(c.byID)+len(c.byDigest) >= maxCached {
		clear(c.byID)
		clear(c.byDigest)
		c.absent = 0
		if !v.found {
			c.absent = 1
		}
	}
	v.t = clone(v.t)
	m[key] = v
}

// Invalidate forgets every cached tenant (with Config.Cache): another
// process changed the store.
func (r *Registry) Invalidate() {
	r.claimsGen.Add(1)
	if r.cache == nil {
		return
	}
	c := r.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen.Add(1)
	clear(c.byID)
	clear(c.byDigest)
	c.absent = 0
}

// New seeds the fixture tenants into the store and returns the registry.
func New(ctx context.Context, cfg Config) (*Registry, error) {
	if cfg.Clock == nil || cfg.IDs == nil || cfg.Fixtures == nil {
		return nil, errors.New("tenants: Clock, IDs and Fixtures are required")
	}
	r := &Registry{clock: cfg.Clock, ids: cfg.IDs, fx: cfg.Fixtures, store: cfg.Store}
	if r.store == nil {
		r.store = NewMemoryStore()
	}
	if cfg.Cache {
		r.cache = &cache{byID: map[string]cachedTenant{}, byDigest: map[string]cachedTenant{}}
	}
	now := r.clock.Now().UTC()
	for _, ft := range cfg.Fixtures.Tenants {
		if cfg.KeepStored {
			break
		}
		t := Tenant{ID: ft.ID, Name: ft.Name, Locale: ft.Locale, Policy: ft.Policy, Users: ft.Users,
			AdminTokenDigest: Digest(ft.AdminToken), Fixture: true, CreatedAt: now}
		if err := r.store.CreateTenant(ctx, t); err != nil && !errors.Is(err, ErrExists) {
			return nil, fmt.Errorf("tenants: seed %s: %w", ft.ID, err)
		}
	}
	return r, nil
}

// Digest is the hex SHA-256 of a token, the form the store keeps.
func Digest(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Tenant returns the tenant id in the fixtures' form (without its admin
// token), the lookup every surface makes; false when there is none.
func (r *Registry) Tenant(id string) (*fixtures.Tenant, bool) {
	t, err := r.lookup(context.Background(), id)
	if err != nil {
		return nil, false
	}
	return &fixtures.Tenant{ID: t.ID, Name: t.Name, Locale: t.Locale, Policy: t.Policy, Users: t.Users}, true
}

// ClaimNames lists, sorted, the custom claims the users of every tenant
// carry (fixture tenants, their copies and tenants created at run time):
// what the discovery document's claims_supported adds to the standard
// claims.
func (r *Registry) ClaimNames(ctx context.Context) []string {
	// Reading them means reading every tenant: the answer is kept until
	// the next change, so the discovery document does not cost what the
	// registry holds on every request.
	gen := r.claimsGen.Load()
	if c := r.claims.Load(); c != nil && c.gen == gen {
		return slices.Clone(c.names)
	}
	var out []string
	err := r.Each(ctx, func(t Tenant) error {
		for _, u := range t.Users {
			for name := range u.Claims {
				if !slices.Contains(out, name) {
					out = append(out, name)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil
	}
	slices.Sort(out)
	r.claims.Store(&claimNames{gen: gen, names: out})
	return slices.Clone(out)
}

// lookup is the store's GetTenant through the cache; what it returns is
// the caller's copy, as the store's is.
func (r *Registry) lookup(ctx context.Context, id string) (Tenant, error) {
	c := r.cache
	if c == nil {
		return r.store.GetTenant(ctx, id)
	}
	c.mu.RLock()
	hit, ok := c.byID[id]
	c.mu.RUnlock()
	if ok {
		if !hit.found {
			return Tenant{}, ErrNotFound
		}
		return clone(hit.t), nil
	}
	gen := c.gen.Load()
	t, err := r.store.GetTenant(ctx, id)
	switch {
	case err == nil:
		c.put(c.byID, id, cachedTenant{t: t, found: true}, gen)
	case errors.Is(err, ErrNotFound):
		c.put(c.byID, id, cachedTenant{}, gen)
	}
	return t, err
}

// lookupDigest is the store's TenantByTokenDigest through the cache.
func (r *Registry) lookupDigest(ctx context.Context, digest string) (Tenant, string, error) {
	c := r.cache
	if c == nil {
		return r.store.TenantByTokenDigest(ctx, digest)
	}
	c.mu.RLock()
	hit, ok := c.byDigest[digest]
	c.mu.RUnlock()
	if ok {
		if !hit.found {
			return Tenant{}, "", ErrNotFound
		}
		return clone(hit.t), hit.kind, nil
	}
	gen := c.gen.Load()
	t, kind, err := r.store.TenantByTokenDigest(ctx, digest)
	switch {
	case err == nil:
		c.put(c.byDigest, digest, cachedTenant{t: t, kind: kind, found: true}, gen)
	case errors.Is(err, ErrNotFound):
		c.put(c.byDigest, digest, cachedTenant{}, gen)
	}
	return t, kind, err
}

// Get returns the stored tenant id (ErrNotFound).
func (r *Registry) Get(ctx context.Context, id string) (Tenant, error) {
	return r.store.GetTenant(ctx, id)
}

// Page returns a page of the tenants, oldest first (Store.ListTenants).
func (r *Registry) Page(ctx context.Context, after Cursor, limit int) ([]Tenant, Cursor, error) {
	return r.store.ListTenants(ctx, after, limit)
}

// eachPage is how many tenants Each reads from the store at once.
const eachPage = 100

// Each calls fn with every tenant, oldest first, reading the store a page
// at a time, so it holds one page and never the whole registry. An error
// from fn stops it and is returned.
func (r *Registry) Each(ctx context.Context, fn func(Tenant) error) error {
	var after Cursor
	for {
		page, next, err := r.store.ListTenants(ctx, after, eachPage)
		if err != nil {
			return err
		}
		for _, t := range page {
			if err := fn(t); err != nil {
				return err
			}
		}
		if next == (Cursor{}) {
			return nil
		}
		after = next
	}
}

// ByToken returns the tenant whose admin or control token is token, and
// the token's kind (KindAdmin or KindControl).
func (r *Registry) ByToken(ctx context.Context, token string) (Tenant, string, bool) {
	d := Digest(token)
	t, kind, err := r.lookupDigest(ctx, d)
	if err != nil {
		return Tenant{}, "", false
	}
	want := t.AdminTokenDigest
	if kind == KindControl {
		want = t.ControlTokenDigest
	}
	// The store found the digest; comparing again in constant time keeps
	// a backend's lookup from being the only check.
	if subtle.ConstantTimeCompare([]byte(d), []byte(want)) != 1 {
		return Tenant{}, "", false
	}
	return t, kind, true
}

// AdminAuthenticator accepts the tenant administrators' tokens (security
// scheme adminToken).
func (r *Registry) AdminAuthenticator() core.Authenticator {
	return core.AuthenticatorFunc(func(ctx context.Context, token string) (*core.Principal, error) {
		t, kind, ok := r.ByToken(ctx, token)
		if !ok || kind != KindAdmin {
			return nil, core.ErrInvalidToken
		}
		return &core.Principal{Kind: core.KindAdmin, Tenant: t.ID, Subject: "admin@" + t.ID}, nil
	})
}

// Spec is what an operator gives to create a tenant.
type Spec struct {
	// ID is a slug; empty draws one.
	ID   string
	Name string
	// Template is a fixture tenant whose policy and users the tenant
	// starts with (and, in the surfaces, its seeded cases); Policy and
	// Users, when given, take precedence.
	Template string
	// Policy nil is the open policy (OpenPolicy).
	Policy     *fixtures.Policy
	Users      []fixtures.User
	SelfReview bool
}

// Created is a new tenant with its two tokens, shown this once.
type Created struct {
	Tenant       Tenant
	AdminToken   string
	ControlToken string
}

// InvalidError lists every problem of a Spec, each naming its field by
// JSON pointer (/id, /policy/approved_scopes/0, ...).
type InvalidError struct{ Issues []schemaissue.Issue }

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Issues))
	for i, is := range e.Issues {
		parts[i] = is.Field + ": " + is.Reason
	}
	return "tenants: invalid tenant: " + strings.Join(parts, "; ")
}

// idPattern is a tenant id: a DNS label of 3 to 40 characters, so that
// https://*.<id>.example/* is a valid redirect pattern.
var idPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,38}[a-z0-9]$`)

// OpenPolicy is the policy of a tenant created without one: every
// published scope, every grant type, public clients, loopback redirects
// and https://*.<id>.example/*.
func (r *Registry) OpenPolicy(id string) fixtures.Policy {
	p := fixtures.Policy{GrantTypes: slices.Clone(fixtures.GrantTypes), PublicClients: true,
		RedirectURIPatterns: []string{"https://*." + id + ".example/*", "http://localhost/*", "http://127.0.0.1/*"}}
	for _, sc := range r.fx.Scopes {
		if sc.Published() {
			p.ApprovedScopes = append(p.ApprovedScopes, sc.Name)
		}
	}
	return p
}

// Create validates spec, stores the tenant and returns it with its
// tokens. A taken id is ErrExists; bad fields an *InvalidError.
func (r *Registry) Create(ctx context.Context, spec Spec) (Created, error) {
	if spec.ID == "" {
		spec.ID = "t-" + strings.ReplaceAll(strings.TrimPrefix(r.ids.Token("", 8), "_"), "_", "")
	}
	if err := r.check(spec); err != nil {
		return Created{}, err
	}
	pol := r.OpenPolicy(spec.ID)
	if ft, ok := r.fx.Tenant(spec.Template); ok && spec.Template != "" {
		pol = ft.Policy
		if spec.Users == nil {
			spec.Users = ft.Users
		}
	}
	if spec.Policy != nil {
		pol = *spec.Policy
	}
	c := Created{AdminToken: r.ids.Token("sbx_admin", 32), ControlToken: r.ids.Token("sbx_control", 32)}
	c.Tenant = Tenant{ID: spec.ID, Name: spec.Name, Template: spec.Template, Policy: pol, Users: spec.Users, SelfReview: spec.SelfReview,
		AdminTokenDigest: Digest(c.AdminToken), ControlTokenDigest: Digest(c.ControlToken), CreatedAt: r.clock.Now().UTC()}
	if c.Tenant.Users == nil {
		c.Tenant.Users = []fixtures.User{}
	}
	if err := r.store.CreateTenant(ctx, c.Tenant); err != nil {
		return Created{}, err
	}
	r.Invalidate()
	return c, nil
}

func (r *Registry) check(spec Spec) error {
	var issues []schemaissue.Issue
	add := func(field, format string, args ...any) {
		issues = append(issues, schemaissue.Issue{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if !idPattern.MatchString(spec.ID) {
		add("/id", "must be 3 to 40 lower-case letters, digits and hyphens, starting with a letter")
	}
	if strings.TrimSpace(spec.Name) == "" || len(spec.Name) > 200 {
		add("/name", "must be 1 to 200 characters")
	}
	if _, ok := r.fx.Tenant(spec.Template); spec.Template != "" && !ok {
		add("/template", "%q is not a fixture tenant", spec.Template)
	}
	if p := spec.Policy; p != nil {
		for i, sc := range p.ApprovedScopes {
			if def, ok := r.fx.Scope(sc); !ok || !def.Published() {
				add(fmt.Sprintf("/policy/approved_scopes/%d", i), "%q is not a published scope", sc)
			}
		}
		for i, g := range p.GrantTypes {
			if !slices.Contains(fixtures.GrantTypes, g) {
				add(fmt.Sprintf("/policy/grant_types/%d", i), "unknown grant type %q", g)
			}
		}
		for i, pat := range p.RedirectURIPatterns {
			if !strings.HasPrefix(pat, "https://") && !strings.HasPrefix(pat, "http://localhost") && !strings.HasPrefix(pat, "http://127.0.0.1") {
				add(fmt.Sprintf("/policy/redirect_uri_patterns/%d", i), "must be an https URI or a loopback http URI")
			}
		}
	}
	seen := map[string]bool{}
	for i, u := range spec.Users {
		if u.ID == "" || u.Name == "" || !strings.Contains(u.Email, "@") {
			add(fmt.Sprintf("/users/%d", i), "id, name and a valid email are required")
		}
		if seen[u.ID] || seen[u.Email] {
			add(fmt.Sprintf("/users/%d/id", i), "duplicate user")
		}
		seen[u.ID], seen[u.Email] = true, true
	}
	if len(issues) > 0 {
		return &InvalidError{Issues: issues}
	}
	return nil
}

// Token kinds RotateToken takes.
const (
	TokenAdmin   = KindAdmin
	TokenControl = KindControl
)

// RotateToken replaces the tenant's admin or control token (kind) with a
// new one, returned this once; the old one stops working at once.
func (r *Registry) RotateToken(ctx context.Context, id, kind string) (string, Tenant, error) {
	var token string
	switch kind {
	case KindAdmin:
		token = r.ids.Token("sbx_admin", 32)
	case KindControl:
		token = r.ids.Token("sbx_control", 32)
	default:
		return "", Tenant{}, &InvalidError{Issues: []schemaissue.Issue{{Field: "/kind", Reason: "must be admin or control"}}}
	}
	t, err := r.store.UpdateTenant(ctx, id, func(t *Tenant) error {
		if kind == KindAdmin {
			t.AdminTokenDigest = Digest(token)
		} else {
			t.ControlTokenDigest = Digest(token)
		}
		return nil
	})
	r.Invalidate()
	if err != nil {
		return "", Tenant{}, err
	}
	return token, t, nil
}

// Delete removes the tenant from the registry: its tokens stop
// authenticating at once. The tenant's data is the surfaces' to remove.
func (r *Registry) Delete(ctx context.Context, id string) error {
	err := r.store.DeleteTenant(ctx, id)
	r.Invalidate()
	return err
}
