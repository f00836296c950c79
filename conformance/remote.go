package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
	"github.com/knogin/argus-sandbox/fixtures"
)

// RemoteSandbox is a sandbox that is already running (a container, `docker
// run`, another process), driven over HTTP only: the control plane
// (/_sandbox/...) with the operator token, the webhooks API with the
// tenant's admin token, and the platform API as an integrator calls it.
type RemoteSandbox struct {
	// URL is its base URL, e.g. http://127.0.0.1:8080.
	URL string
	// OperatorToken is the control plane's bearer ("" for a loopback
	// sandbox started without one).
	OperatorToken string
	// AdminToken is the tenant's admin token; "" takes it from the
	// embedded fixtures (sandbox_admin_acme for acme).
	AdminToken string
}

// remote drives a RemoteSandbox.
type remote struct {
	api *api
}

var _ engine = (*remote)(nil)

// idleWait is how long one GET /_sandbox/webhooks/idle may wait; the
// runner asks again until its context ends.
const idleWait = 30 * time.Second

// connectRemote checks that the sandbox answers and that the operator
// token opens its control plane, so a wrong URL or token is a setup error
// rather than a failed scenario.
func connectRemote(ctx context.Context, rs RemoteSandbox, tenant string) (*remote, error) {
	u, err := url.Parse(rs.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--sandbox %q: want the sandbox's base URL, such as http://127.0.0.1:8080", rs.URL)
	}
	admin := rs.AdminToken
	if admin == "" {
		t, ok := fixtures.MustDefault().Tenant(tenant)
		if !ok {
			return nil, fmt.Errorf("tenant %q is not a fixture tenant; give its admin token (--admin-token)", tenant)
		}
		admin = t.AdminToken
	}
	r := &remote{api: newAPI(rs.URL, tenant, admin, rs.OperatorToken)}
	if err := r.api.call(ctx, http.MethodGet, "/healthz", "", "", nil, http.StatusOK, nil); err != nil {
		return nil, fmt.Errorf("sandbox at %s: %w", rs.URL, err)
	}
	if err := r.control(ctx, http.MethodGet, "/_sandbox/clock", nil, http.StatusOK, nil); err != nil {
		return nil, fmt.Errorf("sandbox control plane (check --operator-token): %w", err)
	}
	if err := r.admin(ctx, http.MethodGet, "/v1/webhooks", nil, http.StatusOK, nil); err != nil {
		return nil, fmt.Errorf("webhooks API of tenant %s (check --admin-token): %w", tenant, err)
	}
	return r, nil
}

func (r *remote) API() *api { return r.api }

// Close does nothing: the sandbox belongs to whoever started it.
func (r *remote) Close() {}

// control calls the control plane with the operator token.
func (r *remote) control(ctx context.Context, method, path string, in any, want int, out any) error {
	auth := ""
	if r.api.operator != "" {
		auth = "Bearer " + r.api.operator
	}
	return r.api.callJSON(ctx, method, path, auth, in, want, out)
}

// admin calls the tenant's management APIs with its admin token.
func (r *remote) admin(ctx context.Context, method, path string, in any, want int, out any) error {
	return r.api.callJSON(ctx, method, path, "Bearer "+r.api.admin, in, want, out)
}

func (r *remote) Subscribe(ctx context.Context, hook string, topics []string, description, secret string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	err := r.control(ctx, http.MethodPost, "/_sandbox/webhooks", map[string]any{"tenant": r.api.tenant, "url": hook,
		"events": topics, "description": description, "secret": secret}, http.StatusCreated, &out)
	return out.ID, err
}

func (r *remote) DeleteWebhook(ctx context.Context, id string) error {
	return r.admin(ctx, http.MethodDelete, "/v1/webhooks/"+url.PathEscape(id), nil, http.StatusNoContent, nil)
}

func (r *remote) AddFault(ctx context.Context, rule faults.Rule) error {
	return r.control(ctx, http.MethodPost, "/_sandbox/faults", rule, http.StatusCreated, nil)
}

func (r *remote) DeleteFault(ctx context.Context, name string) error {
	return r.control(ctx, http.MethodDelete, "/_sandbox/faults/"+url.PathEscape(name), nil, http.StatusNoContent, nil)
}

func (r *remote) FaultFired(ctx context.Context, name string) (int, error) {
	var st struct {
		Fired int `json:"fired"`
	}
	err := r.control(ctx, http.MethodGet, "/_sandbox/faults/"+url.PathEscape(name), nil, http.StatusOK, &st)
	return st.Fired, err
}

func (r *remote) ResetClock(ctx context.Context) error {
	return r.control(ctx, http.MethodPost, "/_sandbox/clock", map[string]bool{"reset": true}, http.StatusOK, nil)
}

func (r *remote) Advance(ctx context.Context, d time.Duration) error {
	return r.control(ctx, http.MethodPost, "/_sandbox/clock", map[string]string{"advance": d.String()}, http.StatusOK, nil)
}

func (r *remote) Trigger(ctx context.Context, topic string, data map[string]any) (string, error) {
	var out struct {
		EventID string `json:"event_id"`
	}
	err := r.control(ctx, http.MethodPost, "/_sandbox/events", map[string]any{"tenant": r.api.tenant, "topic": topic,
		"data": data}, http.StatusAccepted, &out)
	return out.EventID, err
}

func (r *remote) Redeliver(ctx context.Context, webhookID, deliveryID string) error {
	return r.admin(ctx, http.MethodPost, "/v1/webhooks/"+url.PathEscape(webhookID)+"/deliveries/"+
		url.PathEscape(deliveryID)+"/redeliver", nil, http.StatusAccepted, nil)
}

// WaitIdle long-polls GET /_sandbox/webhooks/idle until it reports idle.
func (r *remote) WaitIdle(ctx context.Context) error {
	for {
		var out struct {
			Idle bool `json:"idle"`
		}
		path := "/_sandbox/webhooks/idle?timeout=" + idleWait.String()
		if err := r.control(ctx, http.MethodGet, path, nil, http.StatusOK, &out); err != nil {
			return errors.Join(err, ctx.Err())
		}
		if out.Idle {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Deliveries pages through the list (newest first), then reads every
// delivery for its attempts, a few at a time.
func (r *remote) Deliveries(ctx context.Context, webhookID, eventID string) ([]webhooks.Delivery, error) {
	base := "/v1/webhooks/" + url.PathEscape(webhookID) + "/deliveries"
	q := url.Values{"limit": {"100"}}
	if eventID != "" {
		q.Set("event_id", eventID)
	}
	var ids []string
	for {
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			NextCursor *string `json:"next_cursor"`
		}
		if err := r.admin(ctx, http.MethodGet, base+"?"+q.Encode(), nil, http.StatusOK, &page); err != nil {
			return nil, err
		}
		for _, d := range page.Data {
			ids = append(ids, d.ID)
		}
		if page.NextCursor == nil {
			break
		}
		q.Set("cursor", *page.NextCursor)
	}
	slices.Reverse(ids)
	out := make([]webhooks.Delivery, len(ids))
	errs := make([]error, len(ids))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = r.delivery(ctx, base+"/"+url.PathEscape(id))
			out[i].Seq = uint64(i + 1)
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

func (r *remote) delivery(ctx context.Context, path string) (webhooks.Delivery, error) {
	var d struct {
		ID           string                  `json:"id"`
		WebhookID    string                  `json:"webhook_id"`
		Event        json.RawMessage         `json:"event"`
		Status       webhooks.DeliveryStatus `json:"status"`
		AttemptCount int                     `json:"attempt_count"`
		Attempts     []webhooks.Attempt      `json:"attempts"`
	}
	if err := r.admin(ctx, http.MethodGet, path, nil, http.StatusOK, &d); err != nil {
		return webhooks.Delivery{}, err
	}
	var ev webhooks.Event
	if err := json.Unmarshal(d.Event, &ev); err != nil {
		return webhooks.Delivery{}, fmt.Errorf("GET %s: malformed event: %w", path, err)
	}
	return webhooks.Delivery{ID: d.ID, WebhookID: d.WebhookID, Tenant: r.api.tenant, Event: ev, Body: d.Event,
		Status: d.Status, Attempts: d.Attempts, AttemptCount: d.AttemptCount}, nil
}
