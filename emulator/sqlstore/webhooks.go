package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// WebhooksStore is the webhooks.Store of a DB. Webhooks are documents
// keyed by id and ordered per tenant; deliveries are documents keyed by
// (webhook, id), ordered per webhook by seq, with their status, event
// type (k1) and event id (k2) in columns for the filters.
//
// Creates and evictions of one webhook's deliveries serialise on the
// webhook's delivery lock, an update on its delivery's row; writes to a
// tenant's webhooks on the tenant's webhook lock (taken first by a
// delete, which needs both).
type WebhooksStore struct {
	db           *DB
	retention    int
	maxPerTenant int
	finished     finishedCounts
	updates      updateBatcher
	reads        webhookReads
}

var _ webhooks.Store = (*WebhooksStore)(nil)

// Webhooks returns the webhooks.Store of d keeping retention finished
// deliveries per webhook (webhooks.DefaultRetention when <= 0) and at most
// maxPerTenant webhooks per tenant (webhooks.DefaultMaxWebhooksPerTenant
// when <= 0).
func (d *DB) Webhooks(retention, maxPerTenant int) *WebhooksStore {
	if retention <= 0 {
		retention = webhooks.DefaultRetention
	}
	if maxPerTenant <= 0 {
		maxPerTenant = webhooks.DefaultMaxWebhooksPerTenant
	}
	return &WebhooksStore{db: d, retention: retention, maxPerTenant: maxPerTenant}
}

func webhooksErr(err error) error {
	if errors.Is(err, errNoRecord) {
		return webhooks.ErrNotFound
	}
	return err
}

// CreateWebhook stores w, assigning its Seq; the tenant's count is checked
// under the tenant's webhook lock.
func (s *WebhooksStore) CreateWebhook(ctx context.Context, w webhooks.Webhook) (webhooks.Webhook, error) {
	err := s.db.write(ctx, []string{"webhook:" + w.Tenant}, func(c conn) error {
		if dup, err := c.exists(ctx, kindWebhook, "", w.ID, ""); err != nil || dup {
			return errors.Join(err, conflictUnless(err, webhooks.ErrConflict))
		}
		n, err := c.count(ctx, kindWebhook, w.Tenant)
		if err != nil {
			return err
		}
		if n >= s.maxPerTenant {
			return &core.LimitError{Limit: "webhooks per tenant", Max: s.maxPerTenant, Hint: "delete one first"}
		}
		seq, err := c.next(ctx, "webhook:"+w.Tenant)
		if err != nil {
			return err
		}
		w.Seq = uint64(seq)
		ok, err := c.insert(ctx, row{kind: kindWebhook, id: w.ID, tenant: w.Tenant, seq: seq, doc: w})
		if err == nil && !ok {
			err = webhooks.ErrConflict
		}
		return err
	})
	if err != nil {
		return webhooks.Webhook{}, err
	}
	return w, nil
}

// GetWebhook returns a webhook of tenant. Concurrent calls share a read
// (see webhookReads).
func (s *WebhooksStore) GetWebhook(ctx context.Context, tenant, id string) (webhooks.Webhook, error) {
	return s.reads.get(ctx, s, tenant, id)
}

// ListWebhooks returns the tenant's webhooks, oldest first.
func (s *WebhooksStore) ListWebhooks(ctx context.Context, tenant string) ([]webhooks.Webhook, error) {
	return list[webhooks.Webhook](ctx, s.db.read(), "SELECT doc FROM records WHERE kind = ? AND tenant = ? ORDER BY seq", kindWebhook, tenant)
}

// UpdateWebhook applies fn in a transaction under the tenant's webhook lock.
func (s *WebhooksStore) UpdateWebhook(ctx context.Context, tenant, id string, fn func(*webhooks.Webhook) error) (webhooks.Webhook, error) {
	var out webhooks.Webhook
	err := s.db.write(ctx, []string{"webhook:" + tenant}, func(c conn) error {
		var w webhooks.Webhook
		if err := c.getTenant(ctx, &w, kindWebhook, "", tenant, id); err != nil {
			return webhooksErr(err)
		}
		key := w
		if err := fn(&w); err != nil {
			return err
		}
		w.ID, w.Tenant, w.Seq = key.ID, key.Tenant, key.Seq
		out = w
		return c.replace(ctx, row{kind: kindWebhook, id: id, doc: w})
	})
	if err != nil {
		return webhooks.Webhook{}, err
	}
	return out, nil
}

// DeleteWebhook removes a webhook and its deliveries.
func (s *WebhooksStore) DeleteWebhook(ctx context.Context, tenant, id string) error {
	return s.db.write(ctx, []string{"webhook:" + tenant, "delivery:" + id}, func(c conn) error {
		var w webhooks.Webhook
		if err := c.getTenant(ctx, &w, kindWebhook, "", tenant, id); err != nil {
			return webhooksErr(err)
		}
		if _, err := c.remove(ctx, kindWebhook, "", id); err != nil {
			return err
		}
		if _, err := c.exec(ctx, "DELETE FROM records WHERE kind = ? AND parent = ?", kindDelivery, id); err != nil {
			return err
		}
		s.finished.forget(id)
		_, err := c.exec(ctx, "DELETE FROM counters WHERE name IN (?, ?)", "delivery:"+id, "hold:"+id)
		return err
	})
}

// webhookOf fails with ErrNotFound unless tenant has the webhook id.
func (c conn) webhookOf(ctx context.Context, tenant, id string) error {
	var n int
	if err := c.queryRow(ctx, "SELECT COUNT(*) FROM records WHERE kind = ? AND parent = '' AND id = ? AND tenant = ?",
		kindWebhook, id, tenant).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return webhooks.ErrNotFound
	}
	return nil
}

// CreateDelivery stores d under its webhook, assigning its Seq (ordered
// per webhook), and evicts finished deliveries past the retention.
func (s *WebhooksStore) CreateDelivery(ctx context.Context, d webhooks.Delivery) (webhooks.Delivery, error) {
	err := s.db.write(ctx, []string{"delivery:" + d.WebhookID}, func(c conn) error {
		if err := c.webhookOf(ctx, d.Tenant, d.WebhookID); err != nil {
			return err
		}
		seq, err := c.next(ctx, "delivery:"+d.WebhookID)
		if err != nil {
			return err
		}
		d.Seq = uint64(seq)
		ok, err := c.insertDeliveries(ctx, []webhooks.Delivery{d})
		if err != nil {
			return err
		}
		if !ok {
			return webhooks.ErrConflict
		}
		if d.Finished() {
			return s.trim(ctx, c, d.WebhookID, 1)
		}
		return nil
	})
	if err != nil {
		s.finished.forget(d.WebhookID)
		return webhooks.Delivery{}, err
	}
	s.db.noteInserted(1)
	return d, nil
}

// trim evicts the oldest finished deliveries of a webhook once more than
// 110 % of the retention are kept, added being how many this write
// finished. It counts them only when the store's estimate of the count
// (see finishedCounts) could pass that bound, so a count runs once per
// retention/10 finishes rather than on each.
func (s *WebhooksStore) trim(ctx context.Context, c conn, webhookID string, added int) error {
	if !s.mustCount(webhookID, added) {
		return nil
	}
	return s.evict(ctx, c, webhookID)
}

// mustCount adds added to webhookID's estimate of finished deliveries and
// reports whether it could pass 110 % of the retention: evict must count.
func (s *WebhooksStore) mustCount(webhookID string, added int) bool {
	return !s.finished.add(webhookID, added, s.retention+s.retention/10)
}

// finishedStatuses are the statuses of a finished delivery (every one but
// pending, webhooks.Delivery.Finished), as SQL literals. Named one by one,
// they are seeks in records_parent_status: a condition of status <>
// 'pending' walks the webhook's pending deliveries too, thousands while a
// burst waits to be sent, on every count.
const finishedStatuses = "('" + string(webhooks.StatusSucceeded) + "', '" + string(webhooks.StatusFailed) + "')"

// finishedCountQuery counts a webhook's finished deliveries.
const finishedCountQuery = "SELECT COUNT(*) FROM records WHERE kind = ? AND parent = ? AND status IN " + finishedStatuses

// evict counts webhookID's finished deliveries and evicts the oldest past
// the retention when more than 110 % of it are kept.
func (s *WebhooksStore) evict(ctx context.Context, c conn, webhookID string) error {
	limit := s.retention + s.retention/10
	// UpdateDelivery holds only its row: the count and the eviction
	// serialise with the webhook's other trims and creates here.
	if err := c.lock(ctx, "delivery:"+webhookID); err != nil {
		return err
	}
	var n int
	if err := c.queryRow(ctx, finishedCountQuery, kindDelivery, webhookID).Scan(&n); err != nil {
		return err
	}
	if n > limit {
		if _, err := c.exec(ctx, `DELETE FROM records WHERE kind = ? AND parent = ? AND id IN (
			SELECT id FROM records WHERE kind = ? AND parent = ? AND status IN `+finishedStatuses+` ORDER BY seq LIMIT ?)`,
			kindDelivery, webhookID, kindDelivery, webhookID, n-s.retention); err != nil {
			return err
		}
		n = s.retention
	}
	s.finished.set(webhookID, n)
	return nil
}

// finishedCounts estimates, per webhook, how many finished deliveries
// the database keeps: the count trim last read (or left after evicting),
// plus the deliveries this process finished since. It only ever runs
// high in one process (a write that rolls back after adding to it, or a
// delete elsewhere), which makes trim count early, never late. Another
// process's finishes are not in it: with P processes sharing a database a
// webhook keeps at most about retention + P × retention/10 finished
// deliveries between evictions. A write that fails forgets its webhooks'
// estimates, so the next finish counts again.
type finishedCounts struct {
	mu sync.Mutex
	n  map[string]int
}

// add adds added to webhookID's estimate and reports whether it is known
// and stays within limit (no count needed).
func (f *finishedCounts) add(webhookID string, added, limit int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	n, ok := f.n[webhookID]
	if !ok || n+added > limit {
		return false
	}
	f.n[webhookID] = n + added
	return true
}

func (f *finishedCounts) set(webhookID string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = map[string]int{}
	}
	f.n[webhookID] = n
}

// forget drops the estimates of ids, or every estimate when ids is empty.
func (f *finishedCounts) forget(ids ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(ids) == 0 {
		clear(f.n)
	}
	for _, id := range ids {
		delete(f.n, id)
	}
}

// GetDelivery returns a delivery of a webhook of tenant.
func (s *WebhooksStore) GetDelivery(ctx context.Context, tenant, webhookID, id string) (webhooks.Delivery, error) {
	var d webhooks.Delivery
	err := scanDelivery(s.db.read().queryRow(ctx, "SELECT "+deliveryCols+" FROM records WHERE kind = ? AND parent = ? AND id = ? AND tenant = ?",
		kindDelivery, webhookID, id, tenant), &d)
	if errors.Is(err, sql.ErrNoRows) {
		return webhooks.Delivery{}, webhooks.ErrNotFound
	}
	return d, err
}

// UpdateDelivery applies fn in a transaction that locks the delivery's
// row (SELECT … FOR UPDATE on PostgreSQL), not the webhook: updates of
// one webhook's deliveries run concurrently. Concurrent calls share a
// transaction (see updateBatcher). A delivery it finishes may evict older
// finished ones, under the webhook's delivery lock.
func (s *WebhooksStore) UpdateDelivery(ctx context.Context, tenant, webhookID, id string, fn func(*webhooks.Delivery) error) (webhooks.Delivery, error) {
	return s.updates.do(ctx, s, &updateReq{tenant: tenant, webhookID: webhookID, id: id, fn: fn})
}

// ListDeliveries returns a webhook's matching deliveries, newest first,
// filtered and bounded in the query.
func (s *WebhooksStore) ListDeliveries(ctx context.Context, tenant, webhookID string, f webhooks.DeliveryFilter) ([]webhooks.Delivery, error) {
	c := s.db.read()
	if err := c.webhookOf(ctx, tenant, webhookID); err != nil {
		return nil, err
	}
	var q strings.Builder
	q.WriteString("SELECT " + deliveryCols + " FROM records WHERE kind = ? AND parent = ? AND tenant = ?")
	args := []any{kindDelivery, webhookID, tenant}
	for _, cond := range []struct {
		col string
		v   string
	}{{"status", string(f.Status)}, {"k1", f.EventType}, {"k2", f.EventID}} {
		if cond.v != "" {
			q.WriteString(" AND " + cond.col + " = ?")
			args = append(args, cond.v)
		}
	}
	if f.Before != 0 {
		q.WriteString(" AND seq < ?")
		args = append(args, int64(f.Before))
	}
	q.WriteString(" ORDER BY seq DESC")
	if f.Limit > 0 {
		q.WriteString(" LIMIT ?")
		args = append(args, f.Limit)
	}
	rows, err := c.query(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []webhooks.Delivery
	for rows.Next() {
		var d webhooks.Delivery
		if err := scanDelivery(rows, &d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Reset removes every webhook and delivery.
func (s *WebhooksStore) Reset(ctx context.Context) error {
	return s.db.write(ctx, nil, func(c conn) error {
		if _, err := c.exec(ctx, "DELETE FROM records WHERE kind IN (?, ?)", kindWebhook, kindDelivery); err != nil {
			return err
		}
		s.finished.forget()
		_, err := c.exec(ctx, "DELETE FROM counters WHERE name LIKE 'delivery:%' OR name LIKE 'hold:%'")
		return err
	})
}

// DeleteTenant removes the tenant's webhooks and their deliveries.
func (s *WebhooksStore) DeleteTenant(ctx context.Context, tenant string) error {
	return s.db.write(ctx, []string{"webhook:" + tenant}, func(c conn) error {
		if _, err := c.exec(ctx, `DELETE FROM counters WHERE name IN (SELECT 'delivery:' || id FROM records WHERE kind = ? AND tenant = ?)
			OR name IN (SELECT 'hold:' || id FROM records WHERE kind = ? AND tenant = ?)`, kindWebhook, tenant, kindWebhook, tenant); err != nil {
			return err
		}
		_, err := c.exec(ctx, "DELETE FROM records WHERE kind IN (?, ?) AND tenant = ?", kindWebhook, kindDelivery, tenant)
		s.finished.forget()
		return err
	})
}
