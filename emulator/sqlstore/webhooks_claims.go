package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// insertChunk bounds the rows of one multi-row INSERT: 13 parameters a
// row stay far below SQLite's 32,766 and PostgreSQL's 65,535.
const insertChunk = 500

// insertDeliveries stores ds in multi-row INSERTs of up to insertChunk
// rows; ok is false when a key was taken (a stored delivery, or one of ds
// twice), which the caller's transaction then rolls back. ON CONFLICT DO
// NOTHING and the affected-row count decide it in the statement, as
// insert does for one row.
func (c conn) insertDeliveries(ctx context.Context, ds []webhooks.Delivery) (ok bool, err error) {
	for len(ds) > 0 {
		chunk := ds[:min(len(ds), insertChunk)]
		ds = ds[len(chunk):]
		var q strings.Builder
		q.WriteString("INSERT INTO records (kind, parent, id, tenant, seq, status, k1, k2, at, num, lease_owner, doc) VALUES ")
		args := make([]any, 0, 12*len(chunk))
		for i := range chunk {
			d := &chunk[i]
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
			doc, err := deliveryDoc(d)
			if err != nil {
				return false, err
			}
			args = append(args, kindDelivery, d.WebhookID, d.ID, d.Tenant, int64(d.Seq), string(d.Status),
				d.Event.Type, d.Event.ID, micros(d.NextAttemptAt), leaseColumn(d), d.LeaseOwner, doc)
		}
		q.WriteString(" ON CONFLICT DO NOTHING")
		res, err := c.execUnprepared(ctx, q.String(), args...)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		if err != nil || n != int64(len(chunk)) {
			return false, err
		}
	}
	return true, nil
}

// CreateDeliveries stores every delivery of ds in one transaction, or none:
// per webhook one check and one range of sequence numbers, then the rows in
// multi-row INSERTs.
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
		// Each webhook's sequence numbers, taken in one statement: next
		// is the first number of the range not handed out yet.
		counts := map[string]int{}
		for _, d := range ds {
			counts[d.WebhookID]++
		}
		next := map[string]int64{}
		checked := map[string]bool{}
		for _, d := range ds {
			if _, ok := next[d.WebhookID]; !ok {
				last, err := c.nextN(ctx, "delivery:"+d.WebhookID, counts[d.WebhookID])
				if err != nil {
					return err
				}
				next[d.WebhookID] = last - int64(counts[d.WebhookID]) + 1
			}
			if key := d.Tenant + "\x00" + d.WebhookID; !checked[key] {
				if err := c.webhookOf(ctx, d.Tenant, d.WebhookID); err != nil {
					return err
				}
				checked[key] = true
			}
		}
		trim := map[string]int{}
		for i, d := range ds {
			d.Seq = uint64(next[d.WebhookID])
			next[d.WebhookID]++
			if d.Finished() {
				trim[d.WebhookID]++
			}
			out[i] = d
		}
		ok, err := c.insertDeliveries(ctx, out)
		if err != nil {
			return err
		}
		if !ok {
			return webhooks.ErrConflict
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
	s.db.noteInserted(len(out))
	return out, nil
}

// dueFree selects the pending deliveries a claim takes (ClaimDue, and
// NextDue's earliest of them): due, free (a lease is free when it has no
// owner or its lease-until, rounded up, is not after now), and of one
// tenant or of any. Its parameters: the kind, the due time, now, and the
// tenant twice (empty for any). 'pending' is a literal, as records_due's
// condition is.
const dueFree = `kind = ? AND status = 'pending' AND at <= ? AND (lease_owner = '' OR num <= ?) AND (? = '' OR tenant = ?)`

// ClaimDue leases the due, free pending deliveries of every tenant in one
// statement, which picks them in due order and sets their lease columns
// (the documents are read, not rewritten). On PostgreSQL the rows are
// picked FOR UPDATE SKIP LOCKED, so concurrent claimers take disjoint
// sets and pass over a row an update holds; on SQLite the statement
// writes alone.
func (s *WebhooksStore) ClaimDue(ctx context.Context, cl webhooks.Claim) ([]webhooks.Delivery, error) {
	if cl.Limit < 1 {
		return nil, nil
	}
	owner, until := cl.Owner, cl.Now.Add(cl.Lease)
	var out []webhooks.Delivery
	err := s.db.writeAlone(ctx, func(c conn) error {
		out = out[:0]
		skip := ""
		if c.d.postgres {
			skip = " FOR UPDATE SKIP LOCKED"
		}
		rows, err := c.query(ctx, `WITH due (p, i) AS (
				SELECT parent, id FROM records
				WHERE `+dueFree+`
				ORDER BY at, seq LIMIT ?`+skip+`)
			UPDATE records SET lease_owner = ?, num = ?, ver = ver + 1
			FROM due WHERE kind = ? AND parent = due.p AND id = due.i
			RETURNING at, seq, `+deliveryCols,
			kindDelivery, micros(cl.Due), micros(cl.Now), cl.Tenant, cl.Tenant, cl.Limit,
			owner, ceilMicros(until), kindDelivery)
		if err != nil {
			return err
		}
		defer rows.Close()
		type due struct {
			at, seq int64
			d       webhooks.Delivery
		}
		var got []due
		for rows.Next() {
			var g due
			if err := scanDelivery(rows, &g.d, &g.at, &g.seq); err != nil {
				return err
			}
			got = append(got, g)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// RETURNING keeps no order: the claim's is due time, then seq.
		slices.SortFunc(got, func(a, b due) int {
			return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq),
				cmp.Compare(a.d.WebhookID, b.d.WebhookID), cmp.Compare(a.d.ID, b.d.ID))
		})
		for _, g := range got {
			g.d.LeaseUntil = until // the caller's, not rounded
			out = append(out, g.d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// NextDue reports the earliest due time of the deliveries ClaimDue with
// cl would claim: one read of the index of pending deliveries
// (records_due), in due order, to the first free one.
func (s *WebhooksStore) NextDue(ctx context.Context, cl webhooks.Claim) (time.Time, bool, error) {
	var at int64
	err := s.db.read().queryRow(ctx, `SELECT at FROM records WHERE `+dueFree+` ORDER BY at, seq LIMIT 1`, kindDelivery, micros(cl.Due), micros(cl.Now), cl.Tenant, cl.Tenant).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return time.UnixMicro(at).UTC(), true, nil
}

// ExtendLeases moves, or releases when until is zero, the leases of the
// pending deliveries owner holds: one UPDATE of their lease columns.
func (s *WebhooksStore) ExtendLeases(ctx context.Context, owner string, until time.Time) (int, error) {
	if owner == "" {
		return 0, nil
	}
	var n int64
	err := s.db.writeAlone(ctx, func(c conn) error {
		q, args := "UPDATE records SET num = ?, ver = ver + 1", []any{ceilMicros(until)}
		if until.IsZero() {
			q, args = "UPDATE records SET lease_owner = '', num = 0, ver = ver + 1", nil
		}
		// The literal terms match the partial indexes' conditions, which a
		// parameter could not (records_lease_owner).
		res, err := c.exec(ctx, q+" WHERE kind = ? AND lease_owner = ? AND lease_owner <> '' AND status = 'pending'",
			append(args, kindDelivery, owner)...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// Durable is true: the database outlives the process and may be shared.
func (s *WebhooksStore) Durable() bool { return true }

// CountHold adds add to the webhook's count of held attempts (the counter
// "hold:" and its id), raises it to atLeast, and returns it: one upsert.
func (s *WebhooksStore) CountHold(ctx context.Context, webhookID string, add int, atLeast int64) (int64, error) {
	var n int64
	err := s.db.writeAlone(ctx, func(c conn) error {
		return c.queryRow(ctx, `INSERT INTO counters (name, n) VALUES (?, ?)
			ON CONFLICT (name) DO UPDATE SET n = CASE WHEN counters.n + ? < ? THEN ? ELSE counters.n + ? END
			RETURNING n`, "hold:"+webhookID, max(int64(add), atLeast), add, atLeast, atLeast, add).Scan(&n)
	})
	return n, err
}
