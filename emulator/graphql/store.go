package graphql

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
)

// ErrNotFound is returned by a Store for a case that does not exist in the
// tenant (including one that exists in another tenant).
var ErrNotFound = errors.New("graphql: case not found")

// ErrExists is returned by Store.Create for an id the tenant already holds.
var ErrExists = errors.New("graphql: case already exists")

// Case is a stored case with its notes.
type Case struct {
	ID         string
	Tenant     string
	Number     string
	Title      string
	Status     string
	Priority   string
	Assignee   string
	Tags       []string
	Resolution string
	// Version starts at 1 and increases by one on every change.
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
	// Notes grow by appending only: a case's notes are shared between the
	// store and every copy of the case it returned, so none is ever
	// changed in place. Appending to a returned case's Notes is safe (the
	// store hands them out without spare capacity).
	Notes []Note
}

// Note is a note of a case; Author is empty when an app wrote it.
type Note struct {
	ID        string
	Author    string
	Body      string
	CreatedAt time.Time
}

// Store keeps the cases of every tenant. Implementations must be safe for
// concurrent use and must return copies the caller may keep; a copy's
// notes may be shared, never changed (see Case.Notes). Every
// implementation passes the suite in graphql/storetest.
type Store interface {
	// Case returns one case of tenant, or ErrNotFound.
	Case(ctx context.Context, tenant, id string) (Case, error)
	// CasePage returns one page of the cases of tenant, newest first (by
	// creation time, ties by id), that q selects, and whether more follow.
	// Without q.Match a page costs what it returns, however many cases the
	// tenant holds; with one, at most the tenant's cases are read.
	CasePage(ctx context.Context, tenant string, q CaseQuery) (page []Case, more bool, err error)
	// CountCases counts the cases of tenant that match accepts (nil: all).
	CountCases(ctx context.Context, tenant string, match func(*Case) bool) (int, error)
	// Update applies fn to the cases ids of tenant atomically: all exist
	// (else ErrNotFound, fn not called) and either every change of fn is
	// kept or, when fn fails, none. fn may append notes or drop a case's
	// notes, never change one, and cannot change a case's ID or Tenant.
	// It returns the updated cases in the order of ids. Checks that fn
	// makes against the cases (such as a limit) hold when they are
	// stored: no other update of them runs in between.
	Update(ctx context.Context, tenant string, ids []string, fn func(cases []*Case) error) ([]Case, error)
	// Reset replaces every case with seed.
	Reset(ctx context.Context, seed []Case) error
	// ResetTenant replaces the cases of tenant with those of seed that
	// belong to it (nil: the tenant has none left); other tenants' cases
	// are untouched.
	ResetTenant(ctx context.Context, tenant string, seed []Case) error
	// Create stores a new case of c.Tenant and returns it: ErrExists when
	// the tenant has a case c.ID, a *core.LimitError when it already
	// holds limit cases (checked inside the write, so concurrent creates
	// cannot pass it together).
	Create(ctx context.Context, c Case, limit int) (Case, error)
}

// CaseQuery asks Store.CasePage for one page of a tenant's cases.
type CaseQuery struct {
	// After is the id of the last case already read: the page holds the
	// cases after it in the order. "" starts at the newest; an id the
	// tenant does not hold is ErrNotFound.
	After string
	// Limit bounds the page; below 1 it is one case.
	Limit int
	// Match, when set, keeps only the cases it accepts.
	Match func(*Case) bool
}

// caseBefore orders cases newest first, ties by id: -1 when a comes first.
func caseBefore(a, b *Case) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}

// MemoryStore is the default in-memory Store.
//
// A stored case owns the spare capacity of its notes array; every copy
// handed out has the same array without it. An update appends in place
// (amortized O(1), where copying the notes made each note added to a case
// cost as much as all its notes), and no copy sees it: a copy's length ends
// before the appended note, and appending to a copy reallocates. Writes
// happen under mu, so two updates never append into the same slot at once.
type MemoryStore struct {
	mu      sync.RWMutex
	tenants map[string]map[string]*Case
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{tenants: map[string]map[string]*Case{}}
}

// Case returns a copy of one case.
func (m *MemoryStore) Case(_ context.Context, tenant, id string) (Case, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.tenants[tenant][id]
	if !ok {
		return Case{}, ErrNotFound
	}
	return c.clone(), nil
}

// CasePage returns copies of one page of the tenant's cases. The memory
// store sorts the tenant's cases for it: it keeps what one process holds,
// where the durable stores page by an index.
func (m *MemoryStore) CasePage(_ context.Context, tenant string, q CaseQuery) ([]Case, bool, error) {
	limit := max(q.Limit, 1)
	m.mu.RLock()
	defer m.mu.RUnlock()
	cases := m.tenants[tenant]
	var from *Case
	if q.After != "" {
		if from = cases[q.After]; from == nil {
			return nil, false, ErrNotFound
		}
	}
	sorted := make([]*Case, 0, len(cases))
	for _, c := range cases {
		if (from == nil || caseBefore(from, c) < 0) && (q.Match == nil || q.Match(c)) {
			sorted = append(sorted, c)
		}
	}
	slices.SortFunc(sorted, caseBefore)
	n := min(limit, len(sorted))
	out := make([]Case, n)
	for i, c := range sorted[:n] {
		out[i] = c.clone()
	}
	return out, len(sorted) > n, nil
}

// CountCases counts the tenant's cases that match accepts.
func (m *MemoryStore) CountCases(_ context.Context, tenant string, match func(*Case) bool) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if match == nil {
		return len(m.tenants[tenant]), nil
	}
	n := 0
	for _, c := range m.tenants[tenant] {
		if match(c) {
			n++
		}
	}
	return n, nil
}

// Update changes cases through fn, all or nothing.
func (m *MemoryStore) Update(_ context.Context, tenant string, ids []string, fn func([]*Case) error) ([]Case, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	work := make([]*Case, len(ids))
	for i, id := range ids {
		c, ok := m.tenants[tenant][id]
		if !ok {
			return nil, ErrNotFound
		}
		cp := *c // with the spare capacity of its notes, to append in place
		cp.Tags = slices.Clone(c.Tags)
		if slices.Contains(ids[:i], id) {
			cp.Notes = slices.Clip(cp.Notes) // two appends must not share a slot
		}
		work[i] = &cp
	}
	if err := fn(work); err != nil {
		return nil, err // anything fn appended lies beyond every length kept
	}
	out := make([]Case, len(work))
	for i, c := range work {
		c.ID, c.Tenant = ids[i], tenant // the key of a case never changes
		out[i] = c.clone()
		stored := *c // fn may have kept c
		stored.Tags = slices.Clone(c.Tags)
		m.tenants[tenant][ids[i]] = &stored
	}
	return out, nil
}

// Create stores a copy of c unless its id is taken or the tenant is full.
func (m *MemoryStore) Create(_ context.Context, c Case, limit int) (Case, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cases := m.tenants[c.Tenant]
	if _, ok := cases[c.ID]; ok {
		return Case{}, ErrExists
	}
	if len(cases) >= limit {
		return Case{}, &core.LimitError{Limit: "cases per tenant", Max: limit, Hint: "reset the sandbox to its fixture cases"}
	}
	if cases == nil {
		cases = map[string]*Case{}
		m.tenants[c.Tenant] = cases
	}
	cp := c.clone()
	cp.Notes = slices.Clone(c.Notes) // the caller's array stays the caller's
	cases[c.ID] = &cp
	return cp.clone(), nil
}

// Reset replaces the store's content with copies of seed.
func (m *MemoryStore) Reset(_ context.Context, seed []Case) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tenants = map[string]map[string]*Case{}
	for _, c := range seed {
		cp := c.clone()
		cp.Notes = slices.Clone(c.Notes) // the seed's array stays the caller's
		if m.tenants[c.Tenant] == nil {
			m.tenants[c.Tenant] = map[string]*Case{}
		}
		m.tenants[c.Tenant][c.ID] = &cp
	}
	return nil
}

// ResetTenant replaces the tenant's cases with its cases in seed.
func (m *MemoryStore) ResetTenant(_ context.Context, tenant string, seed []Case) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cases := map[string]*Case{}
	for _, c := range seed {
		if c.Tenant != tenant {
			continue
		}
		cp := c.clone()
		cp.Notes = slices.Clone(c.Notes)
		cases[c.ID] = &cp
	}
	if len(cases) == 0 {
		delete(m.tenants, tenant)
		return nil
	}
	m.tenants[tenant] = cases
	return nil
}

// clone is the copy of c the store hands out: its own tags, the shared
// notes without spare capacity.
func (c *Case) clone() Case {
	out := *c
	out.Tags = slices.Clone(c.Tags)
	out.Notes = slices.Clip(c.Notes)
	return out
}

// seedCases converts the fixture cases into stored cases at version 1.
func seedCases(fx *fixtures.Set) []Case {
	out := make([]Case, 0, len(fx.Cases))
	for _, fc := range fx.Cases {
		c := Case{
			ID: fc.ID, Tenant: fc.Tenant, Number: fc.Number, Title: fc.Title, Status: fc.Status,
			Priority: fc.Priority, Assignee: fc.Assignee, Tags: slices.Clone(fc.Tags), Version: 1,
			CreatedAt: fc.CreatedAt, UpdatedAt: fc.UpdatedAt,
		}
		if c.Tags == nil {
			c.Tags = []string{}
		}
		for _, n := range fc.Notes {
			c.Notes = append(c.Notes, Note{ID: n.ID, Author: n.Author, Body: n.Body, CreatedAt: n.CreatedAt})
		}
		out = append(out, c)
	}
	return out
}
