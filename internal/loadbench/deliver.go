package loadbench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// deliveries measures signed webhook deliveries per second end to end: a
// local receiver is subscribed to case.updated, n events are triggered
// through the control plane, and the rate is the count received over the
// time from the first trigger to the last delivery.
func deliveries(ctx context.Context, base string, n int) (Figure, error) {
	var got atomic.Int64
	done := make(chan struct{})
	var finished sync.Once
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Figure{}, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-signature") == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if got.Add(1) >= int64(n) {
			finished.Do(func() { close(done) })
		}
		w.WriteHeader(http.StatusNoContent)
	}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	admin := http.Header{"Authorization": {"Bearer sandbox_admin_acme"}, "Content-Type": {"application/json"}}
	if err := callJSON(ctx, "POST", base+"/v1/webhooks", admin,
		fmt.Sprintf(`{"url":"http://%s/hook","events":["case.updated"]}`, ln.Addr()), &map[string]*string{}); err != nil {
		return Figure{}, err
	}
	trigger := Request{Method: "POST", URL: base + "/_sandbox/events", Want: http.StatusAccepted,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   []byte(`{"tenant":"acme","topic":"case.updated"}`)}
	start := time.Now()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var sent atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 16)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent.Add(1) <= int64(n) {
				if err := once(ctx, client, trigger); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return Figure{}, err
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		return Figure{}, fmt.Errorf("only %d of %d deliveries arrived within 60 s", got.Load(), n)
	}
	el := time.Since(start)
	return Figure{Target: "sandbox", Metric: "webhook-deliveries", Value: float64(n) / el.Seconds(), Unit: "deliveries/s"}, nil
}
