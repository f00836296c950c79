package sqlstore

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// maxBatch bounds the updates one transaction carries.
const maxBatch = 64

// batchTimeout bounds a shared transaction, which outlives the context of
// the call that runs it when other calls wait on it.
const batchTimeout = 30 * time.Second

// updateReq is one UpdateDelivery call: its key and closure, and, once
// done is closed, its outcome.
type updateReq struct {
	tenant, webhookID, id string
	fn                    func(*webhooks.Delivery) error
	out                   webhooks.Delivery
	err                   error
	done                  chan struct{}
}

// updateBatcher groups concurrent UpdateDelivery calls into one write
// transaction (a group commit): a delivery engine's workers each record an
// attempt at once, and one commit, one SQLite writer turn or one
// PostgreSQL BEGIN/COMMIT pair then serves them all. The first call finds
// no batch running and runs one with what is queued, its own request
// included; calls arriving meanwhile queue and wait, and the next batch
// runs as soon as one ends. Each request keeps its own outcome: fn's error
// or a missing delivery fails that request only. A database error fails
// the batch, whose requests then run one transaction each, so one bad
// request cannot fail the others.
//
// SQLite has one writer, so one batch runs at a time; on PostgreSQL, where
// a batch locks only its rows, up to pgBatches run at once, so a
// process's updates are not held to one transaction's round trips.
type updateBatcher struct {
	g group[*updateReq]
}

// pgBatches is how many batches of one store run at once on PostgreSQL.
const pgBatches = 2

// do queues r and returns its outcome once a batch has run it.
func (b *updateBatcher) do(ctx context.Context, s *WebhooksStore, r *updateReq) (webhooks.Delivery, error) {
	r.done = make(chan struct{})
	most := 1
	if s.db.d.postgres {
		most = pgBatches
	}
	b.g.submit(ctx, r, most, func(queued []*updateReq) int { return min(len(queued), maxBatch) }, s.runBatch)
	<-r.done
	return r.out, r.err
}

// runBatch applies every request of batch (applyOptimistic on PostgreSQL,
// applyLocked on SQLite, where the statements are calls in the process,
// not round trips) and closes their done channels. A database error fails
// the batch, whose requests then run alone, so one bad request cannot
// fail the others.
func (s *WebhooksStore) runBatch(ctx context.Context, batch []*updateReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	// One lock order for every batch: concurrent batches of PostgreSQL
	// replicas wait for each other rather than deadlock.
	slices.SortStableFunc(batch, func(a, b *updateReq) int {
		return cmp.Or(cmp.Compare(a.webhookID, b.webhookID), cmp.Compare(a.id, b.id))
	})
	apply := s.applyOptimistic
	if !s.db.d.postgres {
		apply = s.applyLocked
	}
	err := apply(ctx, batch)
	if err == nil {
		return
	}
	if len(batch) == 1 {
		batch[0].out, batch[0].err = webhooks.Delivery{}, err
		s.finished.forget(batch[0].webhookID)
		return
	}
	for _, r := range batch {
		if err := apply(ctx, []*updateReq{r}); err != nil {
			r.out, r.err = webhooks.Delivery{}, err
			s.finished.forget(r.webhookID)
		}
	}
}

// stored is a delivery of a batch as read, then as its requests left it.
type stored struct {
	d           webhooks.Delivery
	version     int64 // the row's ver as read (applyOptimistic)
	wasFinished bool
	changed     bool
}

// applyLocked applies batch in one write transaction: one SELECT reads
// and locks every row (FOR UPDATE on PostgreSQL; SQLite's write
// transaction excludes every other writer), the closures run (runClosures),
// one UPDATE writes the changed rows, and the finished ones are counted.
// BEGIN, SELECT, UPDATE and COMMIT: four statements whatever the batch's
// size. applyOptimistic falls back on it.
func (s *WebhooksStore) applyLocked(ctx context.Context, batch []*updateReq) error {
	return s.db.write(ctx, nil, func(c conn) error {
		cur, err := s.readBatch(ctx, c, batch, false)
		if err != nil {
			return err
		}
		changed := runClosures(batch, cur)
		if len(changed) == 0 {
			return nil
		}
		if _, err := s.writeBatch(ctx, c, changed, false); err != nil {
			return err
		}
		return s.trimFinished(ctx, c, changed)
	})
}

// maxOptimistic bounds the rounds of applyOptimistic before the requests
// still left take the locked path, which always ends.
const maxOptimistic = 4

// applyOptimistic applies batch in two statements and no transaction: a
// SELECT reads every row with its version (ver, which every write of a
// delivery row moves), the closures run, and one UPDATE writes each
// changed row only if its version is still the one read (compare-and-set).
// A row another write changed in between (a claim, a heartbeat, another
// replica's update) is not written; its requests run again on what is
// stored now, as a retried transaction would. The outcome is what
// applyLocked's would be, without a transaction's BEGIN and COMMIT nor row
// locks held across round trips.
func (s *WebhooksStore) applyOptimistic(ctx context.Context, batch []*updateReq) error {
	c := s.db.read()
	todo := batch
	var written []*stored
	for round := 0; len(todo) > 0; round++ {
		if round == maxOptimistic {
			if err := s.applyLocked(ctx, todo); err != nil {
				return err
			}
			break
		}
		cur, err := s.readBatch(ctx, c, todo, true)
		if err != nil {
			return err
		}
		changed := runClosures(todo, cur)
		if len(changed) == 0 {
			break
		}
		var ok map[[2]string]bool
		if err := s.db.writeAlone(ctx, func(c conn) error {
			var err error
			ok, err = s.writeBatch(ctx, c, changed, true)
			return err
		}); err != nil {
			return err
		}
		var again []*updateReq
		for _, r := range todo {
			key := [2]string{r.webhookID, r.id}
			if st := cur[key]; st != nil && st.changed && !ok[key] {
				again = append(again, r)
			}
		}
		for _, st := range changed {
			if ok[[2]string{st.d.WebhookID, st.d.ID}] {
				written = append(written, st)
			}
		}
		todo = again
	}
	// The eviction is a transaction of its own, only when the estimate
	// of a webhook's finished deliveries says it must count them.
	var count []string
	for id, n := range finishedBy(written) {
		if s.mustCount(id, n) {
			count = append(count, id)
		}
	}
	if len(count) == 0 {
		return nil
	}
	slices.Sort(count)
	return s.db.write(ctx, nil, func(c conn) error {
		for _, id := range count {
			if err := s.evict(ctx, c, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// runClosures runs the closures of batch, in its order, on the deliveries
// cur holds (a request for a delivery an earlier one changed sees that
// change), and returns the deliveries changed. The error of a closure, or
// a missing delivery, is its request's (r.err).
func runClosures(batch []*updateReq, cur map[[2]string]*stored) []*stored {
	var changed []*stored
	for _, r := range batch {
		r.out, r.err = webhooks.Delivery{}, nil // a retried write starts over
		st := cur[[2]string{r.webhookID, r.id}]
		if st == nil || st.d.Tenant != r.tenant {
			r.err = webhooks.ErrNotFound
			continue
		}
		d := st.d
		d.Attempts = slices.Clone(d.Attempts) // a failing closure changes nothing
		if err := r.fn(&d); err != nil {
			r.err = err
			continue
		}
		d.ID, d.WebhookID, d.Tenant, d.Seq = st.d.ID, st.d.WebhookID, st.d.Tenant, st.d.Seq
		if !st.changed {
			st.changed = true
			changed = append(changed, st)
		}
		st.d, r.out = d, d
	}
	return changed
}

// finishedBy counts, per webhook, the deliveries of rows this write
// finished.
func finishedBy(rows []*stored) map[string]int {
	n := map[string]int{}
	for _, st := range rows {
		if st.d.Finished() && !st.wasFinished {
			n[st.d.WebhookID]++
		}
	}
	return n
}

// trimFinished evicts, per webhook, the oldest finished deliveries past
// the retention once those rows finished may pass it (trim).
func (s *WebhooksStore) trimFinished(ctx context.Context, c conn, rows []*stored) error {
	trim := finishedBy(rows)
	for _, id := range slices.Sorted(maps.Keys(trim)) {
		if err := s.trim(ctx, c, id, trim[id]); err != nil {
			return err
		}
	}
	return nil
}

// padded is the statement size for n rows: the next power of two (the
// missing rows repeat the last one), so a few prepared statements serve
// every batch size.
func padded(n int) int {
	p := 1
	for p < n {
		p *= 2
	}
	return p
}

// readBatch reads, in key order, the deliveries of batch in one statement
// (one round trip to PostgreSQL), keyed by (webhook, id): in a write
// transaction it locks them, and with versions it reads their ver
// (applyOptimistic).
func (s *WebhooksStore) readBatch(ctx context.Context, c conn, batch []*updateReq, versions bool) (map[[2]string]*stored, error) {
	n := padded(len(batch))
	args := make([]any, 0, 2*n+1)
	for i := range n {
		r := batch[min(i, len(batch)-1)]
		args = append(args, r.webhookID, r.id)
	}
	args = append(args, kindDelivery)
	rows, err := c.query(ctx, readBatchQuery(n, versions, c.forUpdate()), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[[2]string]*stored, len(batch))
	for rows.Next() {
		var parent, id string
		st := &stored{}
		before := []any{&parent, &id}
		if versions {
			before = append(before, &st.version)
		}
		if err := scanDelivery(rows, &st.d, before...); err != nil {
			return nil, err
		}
		st.wasFinished = st.d.Finished()
		out[[2]string{parent, id}] = st
	}
	return out, rows.Err()
}

// readBatchQuery is readBatch's statement for n keys (webhook, id), then
// the kind: with versions it reads ver, with forUpdate (c.forUpdate) it
// locks the rows. The keys are the outer loop (CROSS JOIN): SQLite,
// which has no statistics of the table, otherwise walked every delivery
// in key order to spare the ORDER BY's sort and looked each up among the
// keys, a batch reading the whole outbox. PostgreSQL plans the join as
// it would an inner one.
func readBatchQuery(n int, versions bool, forUpdate string) string {
	var q strings.Builder
	q.WriteString("WITH k (p, i) AS (VALUES ")
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(CAST(? AS TEXT), CAST(? AS TEXT))")
	}
	q.WriteString(") SELECT parent, id, ")
	if versions {
		q.WriteString("ver, ")
	}
	q.WriteString(deliveryCols + " FROM k CROSS JOIN records WHERE kind = ? AND parent = k.p AND id = k.i ORDER BY parent, id")
	if forUpdate != "" {
		q.WriteString(forUpdate + " OF records")
	}
	return q.String()
}

// writeBatch stores the deliveries of rows, each with its lease columns,
// adding one to each ver: on PostgreSQL in one UPDATE … FROM a list of
// values (typed: PostgreSQL infers no type for a parameter there), on
// SQLite one UPDATE a row. With cas (PostgreSQL's applyOptimistic), a row
// is written only while its ver is the one read, and ok holds the keys
// written; without, every row is (the caller holds their locks) and ok is
// nil.
func (s *WebhooksStore) writeBatch(ctx context.Context, c conn, rows []*stored, cas bool) (ok map[[2]string]bool, err error) {
	if !c.d.postgres {
		// SQLite runs an UPDATE … FROM at about twice the CPU of as many
		// single-row UPDATEs (BenchmarkDurableDeliveries, endpoints-4):
		// in its transaction, one statement a row costs less.
		for _, st := range rows {
			d := &st.d
			doc, err := deliveryDoc(d)
			if err != nil {
				return nil, err
			}
			if _, err := c.exec(ctx, `UPDATE records SET status = ?, at = ?, num = ?, lease_owner = ?, doc = ?, ver = ver + 1
				WHERE kind = ? AND parent = ? AND id = ?`,
				string(d.Status), micros(d.NextAttemptAt), leaseColumn(d), d.LeaseOwner, doc, kindDelivery, d.WebhookID, d.ID); err != nil {
				return nil, err
			}
		}
		return nil, nil
	}
	n := padded(len(rows))
	cols, head := 7, "WITH v (p, i, st, due, lease, owner, body) AS (VALUES "
	if cas {
		cols, head = 8, "WITH v (p, i, st, due, lease, owner, body, ver) AS (VALUES "
	}
	var q strings.Builder
	q.WriteString(head)
	args := make([]any, 0, cols*n+1)
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS TEXT)")
		if cas {
			q.WriteString(", CAST(? AS BIGINT)")
		}
		q.WriteString(")")
		if i >= len(rows) { // padding: the last row again
			args = append(args, args[cols*(len(rows)-1):cols*len(rows)]...)
			continue
		}
		st := rows[i]
		d := &st.d
		doc, err := deliveryDoc(d)
		if err != nil {
			return nil, err
		}
		args = append(args, d.WebhookID, d.ID, string(d.Status), micros(d.NextAttemptAt), leaseColumn(d), d.LeaseOwner, doc)
		if cas {
			args = append(args, st.version)
		}
	}
	q.WriteString(`)
		UPDATE records SET status = v.st, at = v.due, num = v.lease, lease_owner = v.owner, doc = v.body, ver = records.ver + 1
		FROM v WHERE kind = ? AND parent = v.p AND id = v.i`)
	args = append(args, kindDelivery)
	if !cas {
		_, err := c.exec(ctx, q.String(), args...)
		return nil, err
	}
	q.WriteString(" AND records.ver = v.ver RETURNING parent, id")
	res, err := c.query(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	ok = make(map[[2]string]bool, len(rows))
	for res.Next() {
		var parent, id string
		if err := res.Scan(&parent, &id); err != nil {
			return nil, err
		}
		ok[[2]string{parent, id}] = true
	}
	return ok, res.Err()
}
