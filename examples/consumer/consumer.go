// Package consumer is a reference Argus webhook consumer, written as a
// template to copy: it verifies Standard Webhooks signatures, applies each
// event exactly once (an atomic, durable dedupe record written with the
// effects), ignores updates older than the state it holds, acknowledges
// event types it does not handle, and serves the conformance probe. It
// applies before it answers, or, with Config.Async, answers as soon as the
// delivery is in a durable queue and applies it from there.
package consumer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Paths the consumer serves.
const (
	WebhookPath = "/webhooks/argus"
	ProbePath   = "/_conformance/probe"
)

// maxBody bounds a delivery body; Argus events are a few KiB.
const maxBody = 1 << 20

// Config configures a Consumer.
type Config struct {
	// Secret is the webhook signing secret (whsec_...).
	Secret string
	// StateDir holds the durable applied log.
	StateDir string
	// Argus, when set, is used to write a note back on closed cases.
	Argus *ArgusClient
	// Bug selects a deliberately broken variant (BugNone: correct).
	Bug Bug
	// AckDelay is the slow work of BugSlowAck (20 s when zero).
	AckDelay time.Duration
	// Async acknowledges a delivery once it is synced to a durable queue
	// (queue.log in StateDir) and applies it from there, in order, retrying
	// what fails: the pattern for consumers whose work is slow.
	Async  bool
	Logger *slog.Logger
}

// Consumer handles Argus webhook deliveries.
type Consumer struct {
	cfg   Config
	wh    *standardwebhooks.Webhook
	store *Store
	locks keyedMutex
	log   *slog.Logger
	// ctx ends when the consumer is closed: work still in flight then is
	// abandoned, as a crash would abandon it.
	ctx    context.Context
	cancel context.CancelFunc
	seenMu sync.Mutex
	seen   map[string]bool // only for BugMemoryDedupe
	keys   [][]byte        // only for the bugs of bugs_verify.go
	queued sync.WaitGroup  // only for BugAckThenApply
	calls  atomic.Int32    // write-backs in flight, only for BugShedLoad

	// queue, with Config.Async, holds what was acknowledged and not yet
	// applied; stop and stopped end its worker.
	queue   *Queue
	stop    context.CancelFunc
	stopped chan struct{}
}

// New opens the consumer's store and returns it. Close it when done.
func New(cfg Config) (*Consumer, error) {
	wh, err := standardwebhooks.NewWebhook(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("consumer: signing secret: %w", err)
	}
	if cfg.StateDir == "" {
		return nil, errors.New("consumer: StateDir is required")
	}
	st, err := OpenStore(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AckDelay == 0 {
		cfg.AckDelay = 20 * time.Second
	}
	keys, err := secretKeys(cfg)
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("consumer: signing secret: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consumer{cfg: cfg, wh: wh, store: st, log: cfg.Logger, ctx: ctx, cancel: cancel, seen: map[string]bool{}, keys: keys}
	if cfg.Async {
		q, err := OpenQueue(cfg.StateDir, func(id string) bool { return st.Applied(id) > 0 })
		if err != nil {
			cancel()
			_ = st.Close()
			return nil, fmt.Errorf("consumer: %w", err)
		}
		wctx, stop := context.WithCancel(ctx)
		c.queue, c.stop, c.stopped = q, stop, make(chan struct{})
		go c.work(wctx)
	}
	return c, nil
}

// Close abandons the work in flight, stops the queue's worker and closes
// the store: nothing is written after Close returns.
func (c *Consumer) Close() error {
	// The store closes first, as a killed process stops writing at once:
	// work that the cancellation below ends early (a write-back that
	// fails, with BugSwallowEffectError) must not record its event on the
	// way out, or the retry after the restart would find it applied.
	err := c.store.Close()
	c.cancel()
	if c.queue != nil {
		c.stop()
		<-c.stopped
		err = errors.Join(err, c.queue.Close())
	}
	return err
}

// Handler serves the webhook endpoint and the probe.
func (c *Consumer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+WebhookPath, c.receive)
	mux.HandleFunc("GET "+ProbePath, c.probe)
	return mux
}

func (c *Consumer) bug(b Bug) bool { return c.cfg.Bug == b }

// event is the part of an Argus event this consumer reads. Unknown fields
// are ignored on purpose: adding fields is a compatible change.
type event struct {
	Type string `json:"type"`
	Data struct {
		Case *struct {
			ID      string `json:"id"`
			Status  string `json:"status"`
			Version int    `json:"version"`
		} `json:"case"`
	} `json:"data"`
}

// handled lists the topics with side effects here.
var handled = map[string]bool{"case.created": true, "case.updated": true, "case.assigned": true, "case.closed": true}

// receive verifies, deduplicates and applies one delivery. Status codes:
// 2xx applied or already applied (or ignored), 400/401 refused for good,
// 503 failed for now (Argus retries).
func (c *Consumer) receive(w http.ResponseWriter, r *http.Request) {
	limit := int64(maxBody)
	if c.bug(BugSmallBodyLimit) {
		limit = 64 << 10
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	if c.bug(BugDedupeBeforeVerify) {
		c.seenMu.Lock()
		seen := c.seen[r.Header.Get(standardwebhooks.HeaderWebhookID)]
		c.seen[r.Header.Get(standardwebhooks.HeaderWebhookID)] = true
		c.seenMu.Unlock()
		if seen {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	// Standard Webhooks: check the signature over the bytes received (any
	// of the space-separated v1 ones, so rotations work) and that the
	// timestamp is within 5 minutes either way.
	switch {
	case c.bug(BugNoSignature):
	case c.verifiesByHand():
		if err := c.verifyByHand(body, r.Header); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
	default:
		if err := c.wh.Verify(body, r.Header); err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
	}
	// The work stops when the request ends or the consumer closes.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(c.ctx, cancel)()
	id := r.Header.Get(standardwebhooks.HeaderWebhookID)
	// The webhook-id alone is the idempotency key: every attempt of an
	// event is signed at its own time, so the timestamp differs.
	key := id
	if c.bug(BugDedupeOnTimestamp) {
		key = id + "." + r.Header.Get(standardwebhooks.HeaderWebhookTimestamp)
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil || id == "" {
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	if c.bug(BugStrictEnums) && ev.Data.Case != nil && !knownStatus[ev.Data.Case.Status] {
		http.Error(w, "unknown case status", http.StatusUnprocessableEntity)
		return
	}
	if !handled[ev.Type] {
		if c.bug(BugUnknown5xx) {
			http.Error(w, "unsupported event type", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent) // acknowledge, nothing to do
		return
	}
	if c.queue != nil {
		// Durable before the answer: once Argus has its 2xx, it will not
		// deliver again, and the queue is all that remembers the event.
		if err := c.queue.Push(id, body); err != nil {
			c.log.Error("queue event", "event_id", id, "err", err)
			http.Error(w, "temporarily unable to queue", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if c.bug(BugSlowAck) && ev.Type == "case.created" {
		select { // the slow downstream call a consumer should not wait for
		case <-time.After(c.cfg.AckDelay):
		case <-r.Context().Done():
			return
		}
	}
	if c.bug(BugAckThenApply) {
		// The answer goes out first, so Argus has its 2xx before any of
		// the work starts, whatever the scheduler does with the goroutine.
		w.WriteHeader(http.StatusNoContent)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		c.queued.Add(1)
		go func() { // from memory: a crash loses it, and Argus will not retry
			defer c.queued.Done()
			if err := c.apply(c.ctx, id, key, ev); err != nil {
				c.log.Error("apply event", "event_id", id, "err", err)
			}
		}()
		return
	}
	if err := c.apply(ctx, id, key, ev); err != nil {
		c.log.Error("apply event", "event_id", id, "err", err)
		http.Error(w, "temporarily unable to process", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apply runs the event's side effects exactly once. The per-event lock
// makes check and record atomic: a concurrent copy waits, then sees the
// record. The record is written only after the effects succeeded, so a
// failure leaves nothing behind and Argus's retry does the work.
func (c *Consumer) apply(ctx context.Context, id, key string, ev event) error {
	if !c.bug(BugCheckThenAct) {
		unlock := c.locks.lock(key)
		defer unlock()
	}
	switch {
	case c.bug(BugNoDedupe):
	case c.bug(BugMemoryDedupe):
		c.seenMu.Lock()
		seen := c.seen[id]
		c.seenMu.Unlock()
		if seen {
			return nil
		}
	case c.store.Seen(key):
		return nil // a duplicate: already applied
	}
	if c.bug(BugCheckThenAct) {
		time.Sleep(50 * time.Millisecond) // the work between check and record
	}
	var caseID string
	var state *CaseState
	if cs := ev.Data.Case; cs != nil {
		caseID, state = cs.ID, &CaseState{Status: cs.Status, Version: cs.Version}
	}
	if c.bug(BugMarkBeforeApply) {
		if err := c.store.Apply(id, key, ev.Type, caseID, state, true); err != nil {
			return err
		}
	}
	if ev.Type == "case.closed" && c.cfg.Argus != nil && caseID != "" {
		if c.bug(BugShedLoad) {
			if n := c.calls.Add(1); n > shedAbove {
				c.calls.Add(-1)
				c.log.Warn("busy: event dropped", "event_id", id, "write_backs_in_flight", n-1)
				return nil // answered 2xx, never applied
			}
			defer c.calls.Add(-1)
		}
		if err := c.cfg.Argus.AddCaseNote(ctx, caseID, "Closure synced to the connector (event "+id+").", "case.closed:"+id); err != nil {
			var se *StatusError
			permanent := c.bug(BugClientErrorPermanent) && errors.As(err, &se) && se.Code/100 == 4
			if !c.bug(BugSwallowEffectError) && !permanent {
				return fmt.Errorf("write back note: %w", err)
			}
			c.log.Error("write back note", "event_id", id, "err", err)
		}
	}
	if c.bug(BugMarkBeforeApply) {
		return nil
	}
	if err := c.store.Apply(id, key, ev.Type, caseID, state, !c.bug(BugLastWriteWins)); err != nil {
		return err
	}
	if c.bug(BugMemoryDedupe) {
		c.seenMu.Lock()
		c.seen[id] = true
		c.seenMu.Unlock()
	}
	return nil
}

// work applies the queued deliveries in order, each with a bounded time,
// retrying one that fails after a pause, until ctx ends.
func (c *Consumer) work(ctx context.Context) {
	defer close(c.stopped)
	const attemptTimeout, maxPause = 2 * time.Second, 2 * time.Second
	pause := 100 * time.Millisecond
	for {
		e, ok := c.queue.Head()
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-c.queue.Wake():
				continue
			}
		}
		var ev event
		if err := json.Unmarshal(e.Event, &ev); err != nil {
			c.log.Error("drop unreadable queued event", "event_id", e.EventID, "err", err)
			c.queue.Pop()
			continue
		}
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := c.apply(actx, e.EventID, e.EventID, ev)
		cancel()
		if err == nil {
			c.queue.Pop()
			pause = 100 * time.Millisecond
			continue
		}
		c.log.Error("apply queued event", "event_id", e.EventID, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
			pause = min(2*pause, maxPause)
		}
	}
}

// Probe is the conformance probe document: per event id the number of
// times its side effects ran, the mirrored state of each case, and how
// many acknowledged deliveries are not applied yet.
type Probe struct {
	Applied map[string]int       `json:"applied"`
	Cases   map[string]CaseState `json:"cases"`
	Pending int                  `json:"pending"`
}

func (c *Consumer) probe(w http.ResponseWriter, _ *http.Request) {
	if c.bug(BugAckThenApply) {
		c.waitQueued(2 * time.Second)
	}
	// Pending is read first: what it counts as applied is then in the
	// snapshot, so a reading of 0 pending never misses an effect.
	var p Probe
	if c.queue != nil {
		p.Pending = c.queue.Len()
	}
	p.Applied, p.Cases = c.store.Snapshot()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(p)
}

// keyedMutex serialises work per key and forgets keys nobody holds.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}

// waitQueued waits, at most d, for the work BugAckThenApply queued, so its
// probe reports what it applied, not what it has yet to.
func (c *Consumer) waitQueued(d time.Duration) {
	done := make(chan struct{})
	go func() { c.queued.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
	}
}
