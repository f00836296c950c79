package consumer

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// queued is one line of the queue log: a delivery the consumer
// acknowledged, to be applied by its worker.
type queued struct {
	EventID string          `json:"event_id"`
	Event   json.RawMessage `json:"event"`
}

// Queue is the durable queue of the asynchronous consumer: an append-only
// log of acknowledged deliveries (file queue.log in its directory), synced
// before the consumer answers. What is done is the Store's business: on
// open, the entries whose event the store has applied are dropped, so a
// crash between acknowledging and applying loses nothing.
type Queue struct {
	mu      sync.Mutex
	f       *os.File
	pending []queued
	queued  map[string]bool
	wake    chan struct{}
}

// OpenQueue opens (or creates) the queue in dir and keeps the entries
// done does not report as applied.
func OpenQueue(dir string, done func(eventID string) bool) (*Queue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	name := filepath.Join(dir, "queue.log")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	q := &Queue{f: f, queued: map[string]bool{}, wake: make(chan struct{}, 1)}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 2*maxBody)
	for sc.Scan() {
		var e queued
		// A torn last line was never acknowledged: Argus delivers it again.
		if json.Unmarshal(sc.Bytes(), &e) != nil || q.queued[e.EventID] || done(e.EventID) {
			continue
		}
		q.pending = append(q.pending, e)
		q.queued[e.EventID] = true
	}
	if err := sc.Err(); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(q.pending) > 0 {
		q.wake <- struct{}{}
	}
	return q, nil
}

// Push appends a delivery and syncs it; a delivery already queued is not
// queued again. Only after Push returns may the consumer acknowledge.
func (q *Queue) Push(eventID string, event []byte) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.queued[eventID] {
		return nil
	}
	e := queued{EventID: eventID, Event: event}
	if err := appendSynced(q.f, e); err != nil {
		return err
	}
	q.pending = append(q.pending, e)
	q.queued[eventID] = true
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return nil
}

// Head returns the oldest entry not yet applied.
func (q *Queue) Head() (queued, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return queued{}, false
	}
	return q.pending[0], true
}

// Pop drops the oldest entry once it has been applied.
func (q *Queue) Pop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) > 0 {
		delete(q.queued, q.pending[0].EventID)
		q.pending = q.pending[1:]
	}
}

// Len counts the entries not yet applied.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}

// Wake signals when an entry was pushed.
func (q *Queue) Wake() <-chan struct{} { return q.wake }

// Close closes the log.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.f.Close()
}
