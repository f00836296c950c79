package sqlstore

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
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
	mu      sync.Mutex
	queue   []*updateReq
	running int
}

// pgBatches is how many batches of one store run at once on PostgreSQL.
const pgBatches = 4

// do queues r and returns its outcome once a batch has run it.
func (b *updateBatcher) do(ctx context.Context, s *WebhooksStore, r *updateReq) (webhooks.Delivery, error) {
	r.done = make(chan struct{})
	most := 1
	if s.db.d.postgres {
		most = pgBatches
	}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	lead := b.running < most
	if lead {
		b.running++
	}
	b.mu.Unlock()
	if lead {
		// This call runs a batch of what is queued, r included, then hands
		// the next batches to a goroutine of their own.
		ctx = context.WithoutCancel(ctx)
		if b.runNext(ctx, s) {
			go func() {
				for b.runNext(ctx, s) {
				}
			}()
		}
	}
	<-r.done
	return r.out, r.err
}

// runNext runs one batch of what is queued and reports whether more is
// queued (false: this runner has ended).
func (b *updateBatcher) runNext(ctx context.Context, s *WebhooksStore) bool {
	b.mu.Lock()
	n := min(len(b.queue), maxBatch)
	if n == 0 { // another runner took it
		b.running--
		b.mu.Unlock()
		return false
	}
	batch := slices.Clone(b.queue[:n])
	b.queue = slices.Delete(b.queue, 0, n)
	b.mu.Unlock()
	s.runBatch(ctx, batch)
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.queue) == 0 {
		b.running--
		return false
	}
	return true
}

// runBatch applies every request of batch in one transaction, rows locked
// in key order (one order for every batch: concurrent batches of
// PostgreSQL replicas wait for each other rather than deadlock), and
// closes their done channels.
func (s *WebhooksStore) runBatch(ctx context.Context, batch []*updateReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	slices.SortStableFunc(batch, func(a, b *updateReq) int {
		return cmp.Or(cmp.Compare(a.webhookID, b.webhookID), cmp.Compare(a.id, b.id))
	})
	err := s.db.write(ctx, nil, func(c conn) error {
		var docs map[[2]string]string
		if c.d.postgres { // SQLite reads in process: no round trip to save
			var err error
			if docs, err = s.readBatch(ctx, c, batch); err != nil {
				return err
			}
		}
		for _, r := range batch {
			if err := s.updateOne(ctx, c, r, docs); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		return
	}
	if len(batch) == 1 {
		batch[0].out, batch[0].err = webhooks.Delivery{}, err
		s.finished.forget(batch[0].webhookID)
		return
	}
	for _, r := range batch {
		r.out, r.err = webhooks.Delivery{}, nil
		if err := s.db.write(ctx, nil, func(c conn) error { return s.updateOne(ctx, c, r, nil) }); err != nil {
			r.out, r.err = webhooks.Delivery{}, err
			s.finished.forget(r.webhookID)
		}
	}
}

// readBatch reads and locks, in key order, the documents of batch's
// deliveries in one statement (one round trip to PostgreSQL), keyed by
// (webhook, id).
func (s *WebhooksStore) readBatch(ctx context.Context, c conn, batch []*updateReq) (map[[2]string]string, error) {
	var q strings.Builder
	q.WriteString("SELECT parent, id, doc FROM records WHERE kind = ? AND (parent, id) IN (")
	args := []any{kindDelivery}
	for i, r := range batch {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?)")
		args = append(args, r.webhookID, r.id)
	}
	q.WriteString(") ORDER BY parent, id" + c.forUpdate())
	rows, err := c.query(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	docs := make(map[[2]string]string, len(batch))
	for rows.Next() {
		var parent, id, doc string
		if err := rows.Scan(&parent, &id, &doc); err != nil {
			return nil, err
		}
		docs[[2]string{parent, id}] = doc
	}
	return docs, rows.Err()
}
