package loadbench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// receiver is the local webhook endpoint of the delivery benchmark: it
// counts signed deliveries, remembers when the last one arrived and, for
// events that carry their publish time, how long each took to arrive.
type receiver struct {
	got  atomic.Int64
	last atomic.Int64 // UnixNano of the latest delivery

	mu      sync.Mutex
	latency []time.Duration // publish (the event's timestamp) to receipt
}

// maxLatencySamples bounds the latencies a receiver keeps (a soak
// delivers millions).
const maxLatencySamples = 1 << 20

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("webhook-signature") == "" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	now := time.Now()
	rc.got.Add(1)
	rc.last.Store(now.UnixNano())
	if at, ok := eventTime(body); ok {
		rc.mu.Lock()
		if len(rc.latency) < maxLatencySamples {
			rc.latency = append(rc.latency, now.Sub(at))
		}
		rc.mu.Unlock()
	}
	w.WriteHeader(http.StatusNoContent)
}

// eventTime reads the event's "timestamp" (RFC 3339, set when the sandbox
// published it) without decoding the whole body.
func eventTime(body []byte) (time.Time, bool) {
	const key = `"timestamp":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return time.Time{}, false
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:j]))
	return t, err == nil
}

// percentiles returns the median and 99th percentile of the latencies.
func (rc *receiver) percentiles() (p50, p99 time.Duration) {
	rc.mu.Lock()
	all := slices.Clone(rc.latency)
	rc.mu.Unlock()
	if len(all) == 0 {
		return 0, 0
	}
	slices.Sort(all)
	return all[len(all)/2], all[min(len(all)-1, len(all)*99/100)]
}

// serveReceiver serves a receiver on a loopback port; its deliveries go
// to http://addr/hook, and stop closes it.
func serveReceiver() (rc *receiver, addr string, stop func(), err error) {
	rc = &receiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", nil, err
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return rc, ln.Addr().String(), func() { srv.Close() }, nil
}

// listenReceiver serves a receiver on a loopback port and subscribes it to
// case.updated on the sandbox at base. stop deletes the subscription, then
// stops the receiver: a durable sandbox keeps its webhooks, and a
// subscription left behind would have the next run on the same database
// deliver to a receiver that is gone (each event's delivery failing and
// retried beside those measured).
func listenReceiver(ctx context.Context, base string) (*receiver, func(), error) {
	rc, addr, stopReceiver, err := serveReceiver()
	if err != nil {
		return nil, nil, err
	}
	admin := http.Header{"Authorization": {"Bearer sandbox_admin_acme"}, "Content-Type": {"application/json"}}
	var id string
	if err := callJSON(ctx, "POST", base+"/v1/webhooks", admin,
		fmt.Sprintf(`{"url":"http://%s/hook","events":["case.updated"]}`, addr), &map[string]*string{"id": &id}); err != nil {
		stopReceiver()
		return nil, nil, err
	}
	stop := func() {
		defer stopReceiver()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, "DELETE", base+"/v1/webhooks/"+url.PathEscape(id), nil)
		if err != nil {
			return
		}
		req.Header = admin.Clone()
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
	return rc, stop, nil
}

// eventsPerTrigger is how many case.updated events one trigger request
// publishes (the control plane's count). With one event per request the
// benchmark measured the control-plane request more than the delivery;
// at 100 the request is a small share of the work and, its answer waiting
// while the delivery queue is full, it still paces the generator.
const eventsPerTrigger = 100

// triggerRequest publishes eventsPerTrigger case.updated events through
// the control plane, synthetic: bound to the case store, each request
// would create a case, and a long run would fill the tenant.
func triggerRequest(base string) Request {
	return Request{Method: "POST", URL: base + "/_sandbox/events", Want: http.StatusAccepted,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   fmt.Appendf(nil, `{"tenant":"acme","topic":"case.updated","synthetic":true,"count":%d}`, eventsPerTrigger)}
}

// deliveries measures signed webhook deliveries per second end to end: a
// local receiver is subscribed to case.updated, the load generator
// triggers events through the control plane for the run's duration
// (eventsPerTrigger per request), and the rate is the count received over
// the time from the first trigger to the last delivery (so a backlog left
// when the triggers stop counts). p50/p99 are from publish to receipt:
// with the triggers outrunning the engine on purpose, they include the
// time spent in the delivery queue.
func deliveries(ctx context.Context, cfg Config, base string) (Figure, error) {
	rc, stop, err := listenReceiver(ctx, base)
	if err != nil {
		return Figure{}, err
	}
	defer stop()
	start := time.Now()
	r, err := cfg.runOnce(ctx, triggerRequest(base))
	if err != nil {
		return Figure{}, err
	}
	if r.Errors > 0 {
		return Figure{}, fmt.Errorf("%d of %d triggers failed: %s", r.Errors, r.Requests, r.FirstError)
	}
	if err := waitIdle(ctx, base); err != nil {
		return Figure{}, err
	}
	got := rc.got.Load()
	if want := int64(r.Requests) * eventsPerTrigger; got < want {
		return Figure{}, fmt.Errorf("only %d of %d deliveries arrived", got, want)
	}
	el := time.Duration(rc.last.Load() - start.UnixNano())
	p50, p99 := rc.percentiles()
	return Figure{Target: "sandbox", Metric: "webhook-deliveries", Value: float64(got) / el.Seconds(), Unit: "deliveries/s", P50: p50, P99: p99}, nil
}

// waitIdle waits until the sandbox has no delivery work left.
func waitIdle(ctx context.Context, base string) error {
	var idle bool
	for i := 0; i < 4 && !idle; i++ {
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/_sandbox/webhooks/idle?timeout=30s", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var out struct {
			Idle bool `json:"idle"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("webhooks idle: %w", err)
		}
		idle = out.Idle
	}
	if !idle {
		return fmt.Errorf("webhook deliveries did not settle within 2 minutes")
	}
	return nil
}
