package sqlstore

import (
	"context"
	"slices"
	"time"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// A delivery's lease lives in its document (LeaseOwner, LeaseUntil) and,
// for the claim queries, in the num column: LeaseUntil in Unix
// microseconds, 0 when nobody holds it (see leaseColumn). Its due time is
// the at column (NextAttemptAt), indexed by records_at.

// leaseColumn is the num column of a delivery: when its lease lapses, or
// 0 when it has no owner.
func leaseColumn(d *webhooks.Delivery) int64 {
	if d.LeaseOwner == "" {
		return 0
	}
	return micros(d.LeaseUntil)
}

// CreateDeliveries stores every delivery of ds in one transaction, or none.
func (s *WebhooksStore) CreateDeliveries(ctx context.Context, ds []webhooks.Delivery) ([]webhooks.Delivery, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	var scopes []string
	for _, d := range ds {
		scopes = append(scopes, "delivery:"+d.WebhookID)
	}
	slices.Sort(scopes) // one lock order for every writer: no deadlock
	scopes = slices.Compact(scopes)
	out := make([]webhooks.Delivery, len(ds))
	err := s.db.write(ctx, scopes, func(c conn) error {
		checked := map[string]bool{}
		trim := map[string]int{}
		// Each webhook's sequence numbers, taken in one statement: next
		// is the first number of the range not handed out yet.
		counts := map[string]int{}
		for _, d := range ds {
			counts[d.WebhookID]++
		}
		next := map[string]int64{}
		for id, k := range counts {
			last, err := c.nextN(ctx, "delivery:"+id, k)
			if err != nil {
				return err
			}
			next[id] = last - int64(k) + 1
		}
		for i, d := range ds {
			if !checked[d.Tenant+"\x00"+d.WebhookID] {
				if err := c.webhookOf(ctx, d.Tenant, d.WebhookID); err != nil {
					return err
				}
				checked[d.Tenant+"\x00"+d.WebhookID] = true
			}
			d.Seq = uint64(next[d.WebhookID])
			next[d.WebhookID]++
			ok, err := c.insert(ctx, deliveryRow(&d))
			if err != nil {
				return err
			}
			if !ok {
				return webhooks.ErrConflict
			}
			if d.Finished() {
				trim[d.WebhookID]++
			}
			out[i] = d
		}
		for id, n := range trim {
			if err := s.trim(ctx, c, id, n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, d := range ds {
			s.finished.forget(d.WebhookID)
		}
		return nil, err
	}
	return out, nil
}

// ClaimDue leases the due, free pending deliveries of every tenant in one
// transaction: on PostgreSQL the rows are locked FOR UPDATE SKIP LOCKED, so
// concurrent claimers take disjoint sets; SQLite's write transaction is
// exclusive.
func (s *WebhooksStore) ClaimDue(ctx context.Context, cl webhooks.Claim) ([]webhooks.Delivery, error) {
	if cl.Limit < 1 {
		return nil, nil
	}
	until := cl.Now.Add(cl.Lease)
	var out []webhooks.Delivery
	err := s.db.write(ctx, nil, func(c conn) error {
		out = out[:0]
		skip := ""
		if c.d.postgres {
			skip = " FOR UPDATE SKIP LOCKED"
		}
		got, err := list[webhooks.Delivery](ctx, c, `SELECT doc FROM records
			WHERE kind = ? AND status = ? AND at <= ? AND num <= ?
			ORDER BY at, seq LIMIT ?`+skip,
			kindDelivery, string(webhooks.StatusPending), micros(cl.Due), micros(cl.Now), cl.Limit)
		if err != nil {
			return err
		}
		for _, d := range got {
			if d.Leased(cl.Now) { // the column rounds to microseconds
				continue
			}
			d.LeaseOwner, d.LeaseUntil = cl.Owner, until
			if err := c.replace(ctx, deliveryRow(&d)); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ExtendLeases moves, or releases when until is zero, the leases of the
// pending deliveries owner holds.
func (s *WebhooksStore) ExtendLeases(ctx context.Context, owner string, until time.Time) (int, error) {
	if owner == "" {
		return 0, nil
	}
	n := 0
	err := s.db.write(ctx, nil, func(c conn) error {
		n = 0
		held, err := list[webhooks.Delivery](ctx, c, "SELECT doc FROM records WHERE kind = ? AND status = ? AND num <> 0"+c.forUpdate(),
			kindDelivery, string(webhooks.StatusPending))
		if err != nil {
			return err
		}
		for _, d := range held {
			if d.LeaseOwner != owner {
				continue
			}
			if until.IsZero() {
				d.LeaseOwner, d.LeaseUntil = "", time.Time{}
			} else {
				d.LeaseUntil = until
			}
			if err := c.replace(ctx, deliveryRow(&d)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// Durable is true: the database outlives the process and may be shared.
func (s *WebhooksStore) Durable() bool { return true }
