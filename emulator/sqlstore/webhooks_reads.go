package sqlstore

import (
	"context"
	"slices"
	"strings"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// maxReadBatch bounds the webhooks one shared read asks for.
const maxReadBatch = 64

// maxReads is how many shared reads of one store run at once.
const maxReads = 1

// webhookRead is one GetWebhook call: its key and, once done is closed,
// its outcome.
type webhookRead struct {
	tenant, id string
	w          webhooks.Webhook
	err        error
	done       chan struct{}
}

// webhookReads groups concurrent GetWebhook calls into one SELECT: the
// delivery engine reads its webhook before each attempt, so its workers
// ask for the same few webhooks at once. Through a group, as the update
// batcher: a call that finds fewer than maxReads reads running runs one
// with what is queued (its own request included) and the calls arriving
// meanwhile wait for the next. Every read starts after the calls it
// answers were made, so each sees every write that ended before its call.
type webhookReads struct {
	g group[*webhookRead]
}

// get queues a read of tenant's webhook id and returns its outcome.
func (g *webhookReads) get(ctx context.Context, s *WebhooksStore, tenant, id string) (webhooks.Webhook, error) {
	r := &webhookRead{tenant: tenant, id: id, done: make(chan struct{})}
	g.g.submit(ctx, r, maxReads, takeReads, s.readWebhooks)
	select {
	case <-r.done:
		return r.w, r.err
	case <-ctx.Done():
		return webhooks.Webhook{}, ctx.Err()
	}
}

// takeReads is how many of the queued reads one statement answers: those
// asking for its first maxReadBatch distinct webhooks, in queue order.
func takeReads(queued []*webhookRead) int {
	var ids []string
	for n, r := range queued {
		if !slices.Contains(ids, r.id) {
			if len(ids) == maxReadBatch {
				return n
			}
			ids = append(ids, r.id)
		}
	}
	return len(queued)
}

// readWebhooks reads the webhooks batch asks for in one statement and
// answers its requests, closing their done channels.
func (s *WebhooksStore) readWebhooks(ctx context.Context, batch []*webhookRead) {
	var ids []string
	for _, r := range batch {
		if !slices.Contains(ids, r.id) {
			ids = append(ids, r.id)
		}
	}
	found, err := s.selectWebhooks(ctx, ids)
	for _, r := range batch {
		switch w, ok := found[r.id]; {
		case err != nil:
			r.err = err
		case !ok || w.Tenant != r.tenant:
			r.err = webhooks.ErrNotFound
		default:
			r.w = w
			r.w.Events = slices.Clone(w.Events) // each caller's own
		}
		close(r.done)
	}
}

// selectWebhooks reads the webhooks ids by id, in one statement padded to
// a power of two of ids (see padded).
func (s *WebhooksStore) selectWebhooks(ctx context.Context, ids []string) (map[string]webhooks.Webhook, error) {
	n := padded(len(ids))
	var q strings.Builder
	q.WriteString("SELECT doc FROM records WHERE kind = ? AND parent = '' AND id IN (")
	args := make([]any, 0, n+1)
	args = append(args, kindWebhook)
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("?")
		args = append(args, ids[min(i, len(ids)-1)])
	}
	q.WriteString(")")
	ws, err := list[webhooks.Webhook](ctx, s.db.read(), q.String(), args...)
	if err != nil {
		return nil, err
	}
	out := make(map[string]webhooks.Webhook, len(ws))
	for _, w := range ws {
		out[w.ID] = w
	}
	return out, nil
}
