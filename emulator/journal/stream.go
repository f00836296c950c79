package journal

import (
	"encoding/json"
	"strings"
	"sync"
	"time"
)

// Stream frame types (the SSE event names).
const (
	TypeRequest  = "request"
	TypeEvent    = "event"
	TypeDelivery = "delivery"
	TypeFault    = "fault"
	// TypeLagged tells a subscriber that frames were dropped because it
	// read too slowly.
	TypeLagged = "lagged"
)

var allTypes = []string{TypeRequest, TypeEvent, TypeDelivery, TypeFault}

// Event is a published webhook event, as streamed.
type Event struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Tenant    string    `json:"tenant"`
	Timestamp time.Time `json:"timestamp"`
}

// Delivery is one delivery attempt, as streamed.
type Delivery struct {
	DeliveryID string  `json:"delivery_id"`
	EventID    string  `json:"event_id"`
	WebhookID  string  `json:"webhook_id"`
	Tenant     string  `json:"tenant"`
	Attempt    int     `json:"attempt"`
	Status     int     `json:"status"`
	LatencyMS  float64 `json:"latency_ms"`
	// Classification is "succeeded" or the class of the failure
	// (timeout, non_2xx, connection_refused...).
	Classification string     `json:"classification"`
	NextRetryAt    *time.Time `json:"next_retry_at"`
}

// Fault is one firing of a fault rule, as streamed.
type Fault struct {
	Rule      string `json:"rule"`
	Tenant    string `json:"tenant"`
	Operation string `json:"operation,omitempty"`
	WebhookID string `json:"webhook_id,omitempty"`
	Action    string `json:"action"`
}

// StreamFilter selects the frames of a stream.
type StreamFilter struct {
	// Types are the frame types wanted (all when empty).
	Types []string
	// Filter applies to request frames; its Tenant to every frame and its
	// Operation to fault frames too.
	Filter
}

func (f *StreamFilter) wants(fr *frame) bool {
	if len(f.Types) > 0 && !contains(f.Types, fr.kind) {
		return false
	}
	if f.Tenant != "" && fr.tenant != f.Tenant {
		return false
	}
	switch {
	case fr.entry != nil:
		return f.Match(fr.entry)
	case fr.kind == TypeFault && f.Operation != "":
		return fr.operation == f.Operation
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// parseTypes reads the types parameter: a comma list of frame types.
func parseTypes(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		t = strings.TrimSpace(t)
		if !contains(allTypes, t) {
			return nil, &fieldError{"query.types", "unknown type " + t + "; want a comma list of " + strings.Join(allTypes, ", ")}
		}
		out = append(out, t)
	}
	return out, nil
}

// frame is one streamed item: its JSON is encoded once, for every
// subscriber, when the first one wants it.
type frame struct {
	seq       uint64
	kind      string
	tenant    string
	operation string
	entry     *Entry
	data      []byte
}

// subscriber is one open stream. Publishers never wait for it: past
// cap frames, new ones are dropped and counted, and the subscriber is
// told how many it lost.
type subscriber struct {
	filter StreamFilter
	cap    int
	notify chan struct{}

	mu      sync.Mutex
	queue   []frame
	dropped int
}

func (s *subscriber) push(fr frame) {
	s.mu.Lock()
	if len(s.queue) >= s.cap {
		s.dropped++
	} else {
		s.queue = append(s.queue, fr)
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// take returns the pending frames and how many were dropped since the
// last take.
func (s *subscriber) take() ([]frame, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, d := s.queue, s.dropped
	s.queue, s.dropped = nil, 0
	return q, d
}

// subscribe opens a stream; the caller must unsubscribe.
func (j *Journal) subscribe(f StreamFilter) *subscriber {
	s := &subscriber{filter: f, cap: j.cfg.Buffer, notify: make(chan struct{}, 1)}
	j.mu.Lock()
	j.subs[s] = struct{}{}
	if j.relay != nil && len(j.subs) == 1 {
		j.relay.Listening(true)
	}
	j.mu.Unlock()
	return s
}

func (j *Journal) unsubscribe(s *subscriber) {
	j.mu.Lock()
	delete(j.subs, s)
	if j.relay != nil && len(j.subs) == 0 {
		j.relay.Listening(false)
	}
	j.mu.Unlock()
}

// broadcast hands fr to every subscriber that wants it; callers hold
// j.mu. v is what the frame's data encodes.
func (j *Journal) broadcast(fr frame, v any) {
	for s := range j.subs {
		if !s.filter.wants(&fr) {
			continue
		}
		if fr.data == nil {
			data, err := json.Marshal(v)
			if err != nil {
				return
			}
			fr.data = data
		}
		s.push(fr)
	}
}

// publish numbers and streams a frame that the journal does not keep.
func (j *Journal) publish(fr frame, v any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	j.relayLocked(&fr, v)
	if len(j.subs) == 0 {
		return
	}
	fr.seq = j.seq
	j.broadcast(fr, v)
}

// PublishEvent streams a published webhook event.
func (j *Journal) PublishEvent(e Event) {
	j.publish(frame{kind: TypeEvent, tenant: e.Tenant}, e)
}

// PublishDelivery streams a delivery attempt.
func (j *Journal) PublishDelivery(d Delivery) {
	j.publish(frame{kind: TypeDelivery, tenant: d.Tenant}, d)
}

// PublishFault streams a fault firing.
func (j *Journal) PublishFault(f Fault) {
	j.publish(frame{kind: TypeFault, tenant: f.Tenant, operation: f.Operation}, f)
}
