package sqlstore

import (
	"context"
	"slices"
	"strings"
	"sync"

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
// ask for the same few webhooks at once. As with updateBatcher, a call
// that finds fewer than maxReads reads running runs one with what is
// queued (its own request included) and the calls arriving meanwhile
// wait for the next. Every read starts after the calls it answers were
// made, so each sees every write that ended before its call.
type webhookReads struct {
	mu      sync.Mutex
	queue   []*webhookRead
	running int
}

// get queues a read of tenant's webhook id and returns its outcome.
func (g *webhookReads) get(ctx context.Context, s *WebhooksStore, tenant, id string) (webhooks.Webhook, error) {
	r := &webhookRead{tenant: tenant, id: id, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, r)
	lead := g.running < maxReads
	if lead {
		g.running++
	}
	g.mu.Unlock()
	if lead {
		rctx := context.WithoutCancel(ctx)
		if g.runNext(rctx, s) {
			go func() {
				for g.runNext(rctx, s) {
				}
			}()
		}
	}
	select {
	case <-r.done:
		return r.w, r.err
	case <-ctx.Done():
		return webhooks.Webhook{}, ctx.Err()
	}
}

// runNext runs one read of what is queued and reports whether more is
// queued (false: this runner has ended).
func (g *webhookReads) runNext(ctx context.Context, s *WebhooksStore) bool {
	g.mu.Lock()
	var batch []*webhookRead
	var ids []string
	n := 0
	for ; n < len(g.queue); n++ {
		r := g.queue[n]
		if !slices.Contains(ids, r.id) {
			if len(ids) == maxReadBatch {
				break
			}
			ids = append(ids, r.id)
		}
		batch = append(batch, r)
	}
	if n == 0 { // another runner took it
		g.running--
		g.mu.Unlock()
		return false
	}
	g.queue = slices.Delete(g.queue, 0, n)
	g.mu.Unlock()
	s.readWebhooks(ctx, ids, batch)
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.running--
		return false
	}
	return true
}

// readWebhooks reads the webhooks ids in one statement and answers the
// requests of batch, closing their done channels.
func (s *WebhooksStore) readWebhooks(ctx context.Context, ids []string, batch []*webhookRead) {
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
