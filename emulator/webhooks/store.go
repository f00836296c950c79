package webhooks

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sync"

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

// Store keeps webhooks and their delivery diagnostics. Every method is
// tenant-scoped: a record of another tenant is ErrNotFound. Implementations
// are safe for concurrent use; read-modify-write goes through the update
// closures, which must not call the store.
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

	CreateDelivery(ctx context.Context, d Delivery) (Delivery, error)
	GetDelivery(ctx context.Context, tenant, webhookID, id string) (Delivery, error)
	UpdateDelivery(ctx context.Context, tenant, webhookID, id string, fn func(*Delivery) error) (Delivery, error)
	// ListDeliveries returns matching deliveries, newest first.
	ListDeliveries(ctx context.Context, tenant, webhookID string, f DeliveryFilter) ([]Delivery, error)

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
	m.seq++
	d.Seq = m.seq
	c := cloneDelivery(d)
	mw.deliveries[d.ID] = &c
	mw.order = append(mw.order, &c)
	if c.Finished() {
		mw.finished++
		m.trim(mw)
	}
	return cloneDelivery(c), nil
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

// Reset removes every webhook and delivery.
func (m *MemoryStore) Reset(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.webhooks, m.count = map[string]*memWebhook{}, map[string]int{}
	return nil
}

// DeleteTenant removes the tenant's webhooks and their deliveries.
func (m *MemoryStore) DeleteTenant(_ context.Context, tenant string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, mw := range m.webhooks {
		if mw.w.Tenant == tenant {
			delete(m.webhooks, id)
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
