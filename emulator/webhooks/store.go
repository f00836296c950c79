package webhooks

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
	// ErrNotFound is returned for a webhook or delivery that does not exist
	// in the given tenant.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when creating a record whose ID exists.
	ErrConflict = errors.New("already exists")
	// ErrLimitReached is matched by the *core.LimitError CreateWebhook
	// returns when the tenant already has the store's maximum of webhooks.
	ErrLimitReached = core.ErrLimitReached
)

// DeliveryFilter selects deliveries of one webhook.
type DeliveryFilter struct {
	Status    DeliveryStatus
	EventType string
	EventID   string
	// Before, when non-zero, keeps deliveries with Seq < Before (cursor).
	Before uint64
	// Limit bounds the result; 0 means no bound.
	Limit int
}

func (f DeliveryFilter) match(d *Delivery) bool {
	return (f.Status == "" || d.Status == f.Status) &&
		(f.EventType == "" || d.Event.Type == f.EventType) &&
		(f.EventID == "" || d.Event.ID == f.EventID) &&
		(f.Before == 0 || d.Seq < f.Before)
}

// Claim asks ClaimDue for the attempts that are due.
type Claim struct {
	// Owner names the claiming engine: unique to one process's run
	// (a restarted process is a new owner).
	Owner string
	// Due is the sandbox time (the shared, possibly virtual clock): a
	// pending delivery whose NextAttemptAt is not after Due is due.
	Due time.Time
	// Now is the real time leases are measured in; a lease whose
	// LeaseUntil is not after Now has lapsed.
	Now time.Time
	// Lease is how long, from Now, the claimed deliveries are held.
	Lease time.Duration
	// Limit bounds how many deliveries one claim takes (none when < 1).
	Limit int
	// Tenant limits the claim to one tenant's deliveries ("" claims any
	// tenant's).
	Tenant string
}

// Outstanding asks Store.Outstanding whether delivery work is left that
// other engines sharing the store hold or have still to claim.
type Outstanding struct {
	// Tenant limits the question to one tenant's deliveries ("" asks
	// about every tenant).
	Tenant string
	// Due is the sandbox time (the tenant's clock): a pending delivery
	// whose NextAttemptAt is not after Due is due.
	Due time.Time
	// Except is an owner whose leased deliveries are not counted: the
	// asking engine, which knows its own work (and knows a burst it
	// holds, or an attempt it delays, from an attempt in flight).
	Except string
}

// Leased reports whether d is held by an owner whose lease has not lapsed
// at now (real time).
func (d *Delivery) Leased(now time.Time) bool {
	return d.LeaseOwner != "" && d.LeaseUntil.After(now)
}

// Store keeps webhooks and their delivery diagnostics. Every method is
// tenant-scoped: a record of another tenant is ErrNotFound, except
// ClaimDue and ExtendLeases, which serve the delivery engine across
// tenants. Implementations are safe for concurrent use, across processes
// too when Durable; read-modify-write goes through the update closures,
// which must not call the store.
//
// # Delivery durability
//
// A pending delivery is the outbox row of one event for one webhook: the
// engine creates it (CreateDelivery, CreateDeliveries) before Publish
// returns, so a durable store must have it on disk when the call returns.
// Its next attempt is due at NextAttemptAt (sandbox time) and is made by
// whichever engine holds its lease (LeaseOwner, LeaseUntil in real time).
// An engine leases a delivery by creating it leased, by ClaimDue, or by an
// UpdateDelivery closure that checks Leased and sets the lease; it records
// an attempt's outcome, the next due time and the lease's release in one
// UpdateDelivery. A lease that lapses (its engine died) makes the delivery
// claimable again, so an attempt may be repeated (at-least-once) but is
// never made by two engines at once while a lease holds.
type Store interface {
	// CreateWebhook stores w unless its tenant already has the store's
	// maximum of webhooks (a *core.LimitError, decided inside the write so
	// concurrent creates cannot overshoot it).
	CreateWebhook(ctx context.Context, w Webhook) (Webhook, error)
	GetWebhook(ctx context.Context, tenant, id string) (Webhook, error)
	// ListWebhooks returns the tenant's webhooks, oldest first.
	ListWebhooks(ctx context.Context, tenant string) ([]Webhook, error)
	UpdateWebhook(ctx context.Context, tenant, id string, fn func(*Webhook) error) (Webhook, error)
	// DeleteWebhook removes the webhook and its deliveries.
	DeleteWebhook(ctx context.Context, tenant, id string) error

	// CreateDelivery stores d (its lease fields included) under its
	// webhook and assigns its Seq.
	CreateDelivery(ctx context.Context, d Delivery) (Delivery, error)
	// CreateDeliveries stores ds as CreateDelivery would, in one write:
	// all of them, or none when one fails (with that one's error,
	// ErrNotFound or ErrConflict). The Seqs of one webhook's deliveries
	// increase in the order of ds.
	CreateDeliveries(ctx context.Context, ds []Delivery) ([]Delivery, error)
	GetDelivery(ctx context.Context, tenant, webhookID, id string) (Delivery, error)
	// UpdateDelivery applies fn to the stored delivery and stores the
	// result unless fn fails. The read and the write are atomic against
	// every other write of the delivery, ClaimDue's and other processes'
	// included (SQL: SELECT ... FOR UPDATE in one transaction, or an
	// UPDATE that writes the row only if it is still the version read,
	// running fn again otherwise), so a closure that finds the delivery
	// free (!Leased) and sets a lease has claimed it. fn may run more than
	// once: only its last run's change is stored.
	UpdateDelivery(ctx context.Context, tenant, webhookID, id string, fn func(*Delivery) error) (Delivery, error)
	// ListDeliveries returns matching deliveries, newest first.
	ListDeliveries(ctx context.Context, tenant, webhookID string, f DeliveryFilter) ([]Delivery, error)

	// ClaimDue leases up to c.Limit pending deliveries of any tenant (of
	// c.Tenant when set) that are due (NextAttemptAt not after c.Due) and free (!Leased(c.Now)):
	// each gets LeaseOwner c.Owner and LeaseUntil c.Now+c.Lease in the
	// same write, so two claimers, in one process or in several, never
	// get the same delivery while its lease holds (SQL: FOR UPDATE SKIP
	// LOCKED). Earliest NextAttemptAt first, then (within a webhook)
	// lowest Seq; the returned deliveries carry their new lease. Nothing
	// due is an empty result.
	ClaimDue(ctx context.Context, c Claim) ([]Delivery, error)
	// NextDue reports the earliest NextAttemptAt, not after c.Due, of the
	// pending deliveries ClaimDue would claim with c (Owner, Lease and
	// Limit aside): what a walk of c.Tenant's clock runs next. false:
	// none.
	NextDue(ctx context.Context, c Claim) (time.Time, bool, error)
	// CountHold adds add to the webhook's count of attempts held in
	// reorder bursts (a fault), then raises it to atLeast if it is
	// lower, in one write, and returns the count after it. Every engine
	// sharing the store counts on the one count, so a burst fills with
	// the attempts each engine holds; it starts at 0.
	CountHold(ctx context.Context, webhookID string, add int, atLeast int64) (int64, error)
	// ExtendLeases sets LeaseUntil of every pending delivery leased by
	// owner to until (the engine's heartbeat), or releases them (owner
	// and until cleared) when until is zero, and returns how many.
	ExtendLeases(ctx context.Context, owner string, until time.Time) (int, error)
	// Outstanding reports whether a pending delivery matching o (of
	// o.Tenant, or of any tenant) is due at o.Due or earlier and not
	// leased by o.Except: one such delivery answers true, so the SQL
	// stores stop at the first row of the index of due deliveries. A
	// delivery due and leased is being attempted by its owner; due and
	// free, it is about to be claimed. A lease on a delivery not due yet
	// is a wait on the clock (a delayed attempt, or one due on the latest
	// tenant clock waiting for its own), not work, and is not counted.
	// The engine asks a Durable store, where other engines' work is
	// invisible to its own dispatcher (WaitIdle).
	Outstanding(ctx context.Context, o Outstanding) (bool, error)
	// Durable reports whether the store outlives the process or is shared
	// with other processes. The engine then resumes and polls: it claims
	// due deliveries left by a crash, by other processes and by retries
	// scheduled before a restart, and heartbeats its leases. A store only
	// this process's engine ever sees answers false.
	Durable() bool

	// Reset removes everything.
	Reset(ctx context.Context) error
	// DeleteTenant removes the tenant's webhooks and their deliveries;
	// other tenants' are untouched.
	DeleteTenant(ctx context.Context, tenant string) error
}

// DefaultRetention is how many finished deliveries the memory store keeps
// per webhook; pending ones are never evicted.
const DefaultRetention = 1000

// MemoryStore is the in-memory Store. Finished deliveries beyond its
// retention are evicted oldest first (trimmed in batches: up to 10 % more
// may be kept between trims).
type MemoryStore struct {
	retention    int
	maxPerTenant int

	mu       sync.RWMutex
	seq      uint64
	webhooks map[string]*memWebhook // by webhook ID
	count    map[string]int         // webhooks by tenant
	holds    map[string]int64       // CountHold's counts by webhook ID
}

type memWebhook struct {
	w          Webhook
	deliveries map[string]*Delivery
	order      []*Delivery // by Seq
	finished   int
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store keeping retention finished
// deliveries per webhook (DefaultRetention when <= 0) and at most
// maxPerTenant webhooks per tenant (DefaultMaxWebhooksPerTenant when <= 0).
func NewMemoryStore(retention, maxPerTenant int) *MemoryStore {
	if retention <= 0 {
		retention = DefaultRetention
	}
	if maxPerTenant <= 0 {
		maxPerTenant = DefaultMaxWebhooksPerTenant
	}
	return &MemoryStore{retention: retention, maxPerTenant: maxPerTenant,
		webhooks: map[string]*memWebhook{}, count: map[string]int{}}
}

func (m *MemoryStore) webhook(tenant, id string) (*memWebhook, error) {
	mw, ok := m.webhooks[id]
	if !ok || mw.w.Tenant != tenant {
		return nil, ErrNotFound
	}
	return mw, nil
}

// CreateWebhook stores w and assigns its Seq; the tenant's count is
// checked under the same lock as the insert.
func (m *MemoryStore) CreateWebhook(_ context.Context, w Webhook) (Webhook, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.webhooks[w.ID]; ok {
		return Webhook{}, ErrConflict
	}
	if m.count[w.Tenant] >= m.maxPerTenant {
		return Webhook{}, &core.LimitError{Limit: "webhooks per tenant", Max: m.maxPerTenant, Hint: "delete one first"}
	}
	m.count[w.Tenant]++
	m.seq++
	w.Seq = m.seq
	w.Events = slices.Clone(w.Events)
	m.webhooks[w.ID] = &memWebhook{w: w, deliveries: map[string]*Delivery{}}
	return cloneWebhook(w), nil
}

// GetWebhook returns a webhook of tenant.
func (m *MemoryStore) GetWebhook(_ context.Context, tenant, id string) (Webhook, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mw, err := m.webhook(tenant, id)
	if err != nil {
		return Webhook{}, err
	}
	return cloneWebhook(mw.w), nil
}

// ListWebhooks returns the tenant's webhooks, oldest first.
func (m *MemoryStore) ListWebhooks(_ context.Context, tenant string) ([]Webhook, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []Webhook
	for _, mw := range m.webhooks {
		if mw.w.Tenant == tenant {
			out = append(out, cloneWebhook(mw.w))
		}
	}
	slices.SortFunc(out, func(a, b Webhook) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// UpdateWebhook applies fn to a copy and stores it unless fn fails.
func (m *MemoryStore) UpdateWebhook(_ context.Context, tenant, id string, fn func(*Webhook) error) (Webhook, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mw, err := m.webhook(tenant, id)
	if err != nil {
		return Webhook{}, err
	}
	w := cloneWebhook(mw.w)
	if err := fn(&w); err != nil {
		return Webhook{}, err
	}
	w.ID, w.Tenant, w.Seq = mw.w.ID, mw.w.Tenant, mw.w.Seq
	mw.w = w
	return cloneWebhook(w), nil
}

// DeleteWebhook removes a webhook and its deliveries.
func (m *MemoryStore) DeleteWebhook(_ context.Context, tenant, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.webhook(tenant, id); err != nil {
		return err
	}
	delete(m.webhooks, id)
	delete(m.holds, id)
	m.count[tenant]--
	if m.count[tenant] == 0 {
		delete(m.count, tenant)
	}
	return nil
}

// CreateDelivery stores d under its webhook and assigns its Seq.
func (m *MemoryStore) CreateDelivery(_ context.Context, d Delivery) (Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mw, err := m.webhook(d.Tenant, d.WebhookID)
	if err != nil {
		return Delivery{}, err
	}
	if _, ok := mw.deliveries[d.ID]; ok {
		return Delivery{}, ErrConflict
	}
	return m.insertLocked(mw, d), nil
}

// CreateDeliveries stores every delivery of ds, or none: each is checked
// before the first is stored.
func (m *MemoryStore) CreateDeliveries(_ context.Context, ds []Delivery) ([]Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	hooks := make([]*memWebhook, len(ds))
	for i, d := range ds {
		mw, err := m.webhook(d.Tenant, d.WebhookID)
		if err != nil {
			return nil, err
		}
		if _, ok := mw.deliveries[d.ID]; ok {
			return nil, ErrConflict
		}
		for _, prev := range ds[:i] {
			if prev.ID == d.ID && prev.WebhookID == d.WebhookID {
				return nil, ErrConflict
			}
		}
		hooks[i] = mw
	}
	out := make([]Delivery, len(ds))
	for i, d := range ds {
		out[i] = m.insertLocked(hooks[i], d)
	}
	return out, nil
}

// insertLocked stores d, new under mw, and returns a copy with its Seq.
func (m *MemoryStore) insertLocked(mw *memWebhook, d Delivery) Delivery {
	m.seq++
	d.Seq = m.seq
	c := cloneDelivery(d)
	mw.deliveries[d.ID] = &c
	mw.order = append(mw.order, &c)
	if c.Finished() {
		mw.finished++
		m.trim(mw)
	}
	return cloneDelivery(c)
}

// GetDelivery returns a delivery of a webhook of tenant.
func (m *MemoryStore) GetDelivery(_ context.Context, tenant, webhookID, id string) (Delivery, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mw, err := m.webhook(tenant, webhookID)
	if err != nil {
		return Delivery{}, err
	}
	d, ok := mw.deliveries[id]
	if !ok {
		return Delivery{}, ErrNotFound
	}
	return cloneDelivery(*d), nil
}

// UpdateDelivery applies fn to a copy and stores it unless fn fails.
func (m *MemoryStore) UpdateDelivery(_ context.Context, tenant, webhookID, id string, fn func(*Delivery) error) (Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mw, err := m.webhook(tenant, webhookID)
	if err != nil {
		return Delivery{}, err
	}
	cur, ok := mw.deliveries[id]
	if !ok {
		return Delivery{}, ErrNotFound
	}
	d := cloneDelivery(*cur)
	if err := fn(&d); err != nil {
		return Delivery{}, err
	}
	d.ID, d.WebhookID, d.Tenant, d.Seq = cur.ID, cur.WebhookID, cur.Tenant, cur.Seq
	was := cur.Finished()
	*cur = d
	if d.Finished() != was {
		if was {
			mw.finished--
		} else {
			mw.finished++
			m.trim(mw)
		}
	}
	return cloneDelivery(d), nil
}

// trim evicts the oldest finished deliveries once more than 110 % of the
// retention are kept, so the cost is amortised over many deliveries.
// Deliveries mostly finish in the order they were created, so the oldest
// finished ones gather at the front of order: the scan stops once enough
// are evicted, and the pending ones it passed move up behind them, so a
// trim costs what it evicts, not the length of order (which holds every
// queued delivery too).
func (m *MemoryStore) trim(mw *memWebhook) {
	if mw.finished <= m.retention+m.retention/10 {
		return
	}
	drop := mw.finished - m.retention
	kept, i := 0, 0
	for ; i < len(mw.order) && drop > 0; i++ {
		d := mw.order[i]
		if d.Finished() {
			delete(mw.deliveries, d.ID)
			drop--
			mw.finished--
			continue
		}
		mw.order[kept] = d
		kept++
	}
	// order[:kept] holds the pending deliveries scanned, order[kept:i] is
	// evicted: move the pending ones next to the unscanned rest, and let
	// go of the evicted entries so the collector can free them.
	start := i - kept
	copy(mw.order[start:i], mw.order[:kept])
	clear(mw.order[:start])
	mw.order = mw.order[start:]
}

// ListDeliveries returns a webhook's matching deliveries, newest first.
func (m *MemoryStore) ListDeliveries(_ context.Context, tenant, webhookID string, f DeliveryFilter) ([]Delivery, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	mw, err := m.webhook(tenant, webhookID)
	if err != nil {
		return nil, err
	}
	var out []Delivery
	for i := len(mw.order) - 1; i >= 0; i-- {
		d := mw.order[i]
		if !f.match(d) {
			continue
		}
		out = append(out, cloneDelivery(*d))
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	return out, nil
}

// ClaimDue leases the due, free pending deliveries of every tenant,
// earliest due first. It scans every pending delivery: the engine calls it
// on a MemoryStore only at start (the store is not Durable), where it
// finds what a caller stored before.
func (m *MemoryStore) ClaimDue(_ context.Context, c Claim) ([]Delivery, error) {
	if c.Limit < 1 {
		return nil, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var due []*Delivery
	for _, mw := range m.webhooks {
		for _, d := range mw.order {
			if c.claims(d) {
				due = append(due, d)
			}
		}
	}
	slices.SortFunc(due, func(a, b *Delivery) int {
		if n := a.NextAttemptAt.Compare(b.NextAttemptAt); n != 0 {
			return n
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	due = due[:min(len(due), c.Limit)]
	out := make([]Delivery, len(due))
	for i, d := range due {
		d.LeaseOwner, d.LeaseUntil = c.Owner, c.Now.Add(c.Lease)
		out[i] = cloneDelivery(*d)
	}
	return out, nil
}

// claims reports whether ClaimDue with c claims d.
func (c Claim) claims(d *Delivery) bool {
	return !d.Finished() && !d.NextAttemptAt.After(c.Due) && !d.Leased(c.Now) && (c.Tenant == "" || d.Tenant == c.Tenant)
}

// NextDue reports the earliest due time of the deliveries ClaimDue with c
// would claim.
func (m *MemoryStore) NextDue(_ context.Context, c Claim) (time.Time, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var next time.Time
	found := false
	for _, mw := range m.webhooks {
		for _, d := range mw.order {
			if c.claims(d) && (!found || d.NextAttemptAt.Before(next)) {
				next, found = d.NextAttemptAt, true
			}
		}
	}
	return next, found, nil
}

// CountHold adds add to the webhook's count of held attempts, raises it
// to atLeast, and returns it.
func (m *MemoryStore) CountHold(_ context.Context, webhookID string, add int, atLeast int64) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holds == nil {
		m.holds = map[string]int64{}
	}
	m.holds[webhookID] = max(m.holds[webhookID]+int64(add), atLeast)
	return m.holds[webhookID], nil
}

// ExtendLeases moves or releases the leases of owner's pending deliveries.
func (m *MemoryStore) ExtendLeases(_ context.Context, owner string, until time.Time) (int, error) {
	if owner == "" {
		return 0, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, mw := range m.webhooks {
		for _, d := range mw.order {
			if d.LeaseOwner != owner || d.Finished() {
				continue
			}
			n++
			if until.IsZero() {
				d.LeaseOwner, d.LeaseUntil = "", time.Time{}
			} else {
				d.LeaseUntil = until
			}
		}
	}
	return n, nil
}

// Outstanding scans the deliveries: only this process's engine sees the
// store, and its dispatcher already knows all of their work, so the
// engine never asks; the answer is kept true to the contract all the
// same, for the shared suite.
func (m *MemoryStore) Outstanding(_ context.Context, o Outstanding) (bool, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, mw := range m.webhooks {
		if o.Tenant != "" && mw.w.Tenant != o.Tenant {
			continue
		}
		for _, d := range mw.order {
			if !d.Finished() && !d.NextAttemptAt.After(o.Due) && (d.LeaseOwner == "" || d.LeaseOwner != o.Except) {
				return true, nil
			}
		}
	}
	return false, nil
}

// Durable is false: the store lives and dies with its process.
func (m *MemoryStore) Durable() bool { return false }

// Reset removes every webhook and delivery.
func (m *MemoryStore) Reset(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.webhooks, m.count, m.holds = map[string]*memWebhook{}, map[string]int{}, nil
	return nil
}

// DeleteTenant removes the tenant's webhooks and their deliveries.
func (m *MemoryStore) DeleteTenant(_ context.Context, tenant string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, mw := range m.webhooks {
		if mw.w.Tenant == tenant {
			delete(m.webhooks, id)
			delete(m.holds, id)
		}
	}
	delete(m.count, tenant)
	return nil
}

func cloneWebhook(w Webhook) Webhook {
	w.Events = slices.Clone(w.Events)
	return w
}

// cloneDelivery copies the attempts; Body and Event.Data are never
// mutated after creation, so they are shared.
func cloneDelivery(d Delivery) Delivery {
	d.Attempts = slices.Clone(d.Attempts)
	return d
}
