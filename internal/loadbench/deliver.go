package loadbench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// receiver is the local webhook endpoint of the delivery benchmark: it
// counts signed deliveries and remembers when the last one arrived.
type receiver struct {
	got  atomic.Int64
	last atomic.Int64 // UnixNano of the latest delivery
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("webhook-signature") == "" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.got.Add(1)
	rc.last.Store(time.Now().UnixNano())
	w.WriteHeader(http.StatusNoContent)
}

// listenReceiver serves a receiver on a loopback port and subscribes it to
// case.updated on the sandbox at base.
func listenReceiver(ctx context.Context, base string) (*receiver, func(), error) {
	rc := &receiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: rc, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	admin := http.Header{"Authorization": {"Bearer sandbox_admin_acme"}, "Content-Type": {"application/json"}}
	if err := callJSON(ctx, "POST", base+"/v1/webhooks", admin,
		fmt.Sprintf(`{"url":"http://%s/hook","events":["case.updated"]}`, ln.Addr()), &map[string]*string{}); err != nil {
		srv.Close()
		return nil, nil, err
	}
	return rc, func() { srv.Close() }, nil
}

// eventsPerTrigger is how many case.updated events one trigger request
// publishes (the control plane's count). With one event per request the
// benchmark measured the control-plane request more than the delivery;
// at 100 the request is a small share of the work and, its answer waiting
// while the delivery queue is full, it still paces the generator.
const eventsPerTrigger = 100

// triggerRequest publishes eventsPerTrigger case.updated events through
// the control plane.
func triggerRequest(base string) Request {
	return Request{Method: "POST", URL: base + "/_sandbox/events", Want: http.StatusAccepted,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   fmt.Appendf(nil, `{"tenant":"acme","topic":"case.updated","count":%d}`, eventsPerTrigger)}
}

// deliveries measures signed webhook deliveries per second end to end: a
// local receiver is subscribed to case.updated, the load generator
// triggers events through the control plane for the run's duration
// (eventsPerTrigger per request), and the rate is the count received over
// the time from the first trigger to the last delivery (so a backlog left
// when the triggers stop counts).
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
	return Figure{Target: "sandbox", Metric: "webhook-deliveries", Value: float64(got) / el.Seconds(), Unit: "deliveries/s"}, nil
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
