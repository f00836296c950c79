package conformance

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// embedded is a sandbox assembled in this process and served on a loopback
// port, so the consumer can call back into it. Engine calls go to the
// emulator's services directly.
type embedded struct {
	sb  *emulator.Sandbox
	srv *http.Server
	api *api
}

var _ engine = (*embedded)(nil)

// startEmbedded assembles an embedded sandbox on host (127.0.0.1 unless
// the consumer must reach it elsewhere).
func startEmbedded(seed int64, tenant, host string, log *slog.Logger) (*embedded, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, err
	}
	base := "http://" + ln.Addr().String()
	sb, err := emulator.New(emulator.Config{Issuer: base, Loopback: true, Seed: seed, Logger: log})
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	t, ok := sb.Fixtures.Tenant(tenant)
	if !ok {
		sb.Close()
		_ = ln.Close()
		return nil, fmt.Errorf("tenant %q is not a fixture tenant", tenant)
	}
	e := &embedded{sb: sb, api: newAPI(base, tenant, t.AdminToken, ""),
		srv: &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 10 * time.Second}}
	go func() { _ = e.srv.Serve(ln) }()
	return e, nil
}

func (e *embedded) API() *api { return e.api }

func (e *embedded) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = e.srv.Shutdown(ctx)
	e.sb.Close()
}

func (e *embedded) Subscribe(ctx context.Context, url string, topics []string, description, secret string) (string, error) {
	w, err := e.sb.Webhooks.Subscribe(ctx, e.api.tenant, webhooks.Subscription{URL: url, Events: topics,
		Description: description, Secret: secret})
	return w.ID, err
}

func (e *embedded) DeleteWebhook(ctx context.Context, id string) error {
	return e.sb.Webhooks.Delete(ctx, e.api.tenant, id)
}

func (e *embedded) AddFault(_ context.Context, r faults.Rule) error {
	_, err := e.sb.Faults.Add(r)
	return err
}

func (e *embedded) DeleteFault(_ context.Context, name string) error { return e.sb.Faults.Delete(name) }

func (e *embedded) FaultFired(_ context.Context, name string) (int, error) {
	st, err := e.sb.Faults.Rule(name)
	return st.Fired, err
}

func (e *embedded) ResetClock(context.Context) error {
	e.sb.Clock.Reset()
	return nil
}

func (e *embedded) Advance(_ context.Context, d time.Duration) error {
	e.sb.Clock.Advance(d)
	return nil
}

func (e *embedded) Trigger(ctx context.Context, topic string, data map[string]any) (string, error) {
	return e.sb.Webhooks.Trigger(ctx, e.api.tenant, topic, data)
}

func (e *embedded) Deliveries(ctx context.Context, webhookID, eventID string) ([]webhooks.Delivery, error) {
	ds, err := e.sb.Webhooks.Deliveries(ctx, e.api.tenant, webhookID, webhooks.DeliveryFilter{EventID: eventID})
	slices.SortFunc(ds, func(a, b webhooks.Delivery) int { return cmp.Compare(a.Seq, b.Seq) })
	return ds, err
}

func (e *embedded) Redeliver(ctx context.Context, webhookID, deliveryID string) error {
	_, err := e.sb.Webhooks.Redeliver(ctx, e.api.tenant, webhookID, deliveryID)
	return err
}

func (e *embedded) WaitIdle(ctx context.Context) error { return e.sb.Webhooks.WaitIdle(ctx) }
