package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// A delivery's lease lives in columns, not in its document: the owner in
// lease_owner ('' when free), the lease-until in num (Unix microseconds,
// rounded up, 0 when free). Its due time is the at column
// (NextAttemptAt). A claim, a heartbeat and a release are then single
// statements on the columns; every read of a delivery overlays them on
// the document (deliveryCols, scanDelivery), and every write stores the
// document without them (deliveryDoc). Every write of a delivery row adds
// one to its ver column, which the update batches compare-and-set on.

// deliveryCols are the columns scanDelivery reads, in its order.
const deliveryCols = "doc, lease_owner, num"

// leaseColumn is the num column of a delivery: when its lease lapses,
// rounded up to the microsecond so the column never ends a lease early,
// or 0 when it has no owner.
func leaseColumn(d *webhooks.Delivery) int64 {
	if d.LeaseOwner == "" {
		return 0
	}
	return ceilMicros(d.LeaseUntil)
}

// ceilMicros is t in Unix microseconds, rounded up.
func ceilMicros(t time.Time) int64 {
	us := t.UnixMicro()
	if time.UnixMicro(us).Before(t) {
		us++
	}
	return us
}

// overlayLease sets d's lease from its columns.
func overlayLease(d *webhooks.Delivery, owner string, until int64) {
	d.LeaseOwner, d.LeaseUntil = owner, time.Time{}
	if owner != "" {
		d.LeaseUntil = time.UnixMicro(until).UTC()
	}
}

// scanDelivery decodes a row of deliveryCols (after the columns in
// before) into d.
func scanDelivery(sc rowScanner, d *webhooks.Delivery, before ...any) error {
	var doc, owner string
	var until int64
	if err := sc.Scan(append(before, &doc, &owner, &until)...); err != nil {
		return err
	}
	if err := decodeDelivery(doc, d); err != nil {
		return err
	}
	overlayLease(d, owner, until)
	return nil
}

// copyLeaseOwners is the Go step of migration 4: a delivery leased
// before it keeps its owner, read from its document into lease_owner,
// and its lease-until, rounded up as leaseColumn does.
func copyLeaseOwners(ctx context.Context, c conn) error {
	rows, err := c.tx.QueryContext(ctx, c.d.rebind("SELECT parent, id, doc FROM records WHERE kind = ? AND num <> 0"), kindDelivery)
	if err != nil {
		return err
	}
	type lease struct {
		parent, id, owner string
		until             int64
	}
	var leases []lease
	for rows.Next() {
		var parent, id, doc string
		if err := rows.Scan(&parent, &id, &doc); err != nil {
			_ = rows.Close()
			return err
		}
		var d webhooks.Delivery
		if err := decodeDelivery(doc, &d); err != nil {
			_ = rows.Close()
			return err
		}
		leases = append(leases, lease{parent: parent, id: id, owner: d.LeaseOwner, until: leaseColumn(&d)})
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, l := range leases {
		if err := c.execDDL(ctx, "UPDATE records SET lease_owner = ?, num = ? WHERE kind = ? AND parent = ? AND id = ?",
			l.owner, l.until, kindDelivery, l.parent, l.id); err != nil {
			return err
		}
	}
	return nil
}

// The queries of Outstanding, every tenant's and one tenant's: the first
// row of the partial index records_due (pending deliveries by due time)
// that is due and not the asker's answers it. 'pending' is a literal, as
// the index's condition is; the ORDER BY is the index's own, which keeps
// both planners on it (without it PostgreSQL scanned the table for one
// tenant and SQLite took records_at, which holds the finished deliveries
// too). One tenant's question also reads the other tenants' due rows it
// passes, as few as the deliveries due and not yet settled.
const (
	outstandingQuery       = "SELECT 1 FROM records WHERE kind = ? AND status = 'pending' AND at <= ? AND (lease_owner = '' OR lease_owner <> ?) ORDER BY at, seq LIMIT 1"
	outstandingTenantQuery = "SELECT 1 FROM records WHERE kind = ? AND status = 'pending' AND at <= ? AND (lease_owner = '' OR lease_owner <> ?) AND tenant = ? ORDER BY at, seq LIMIT 1"
)

// Outstanding reads at most one row: is any pending delivery (of
// o.Tenant) due at o.Due and not leased by o.Except.
func (s *WebhooksStore) Outstanding(ctx context.Context, o webhooks.Outstanding) (bool, error) {
	q, args := outstandingQuery, []any{kindDelivery, micros(o.Due), o.Except}
	if o.Tenant != "" {
		q, args = outstandingTenantQuery, append(args, o.Tenant)
	}
	var one int
	err := s.db.read().queryRow(ctx, q, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}
