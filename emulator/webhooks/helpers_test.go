package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/knogin/argus-sandbox/specs"
)

// newTestService starts an engine on a virtual clock; mutate adjusts the
// config. The engine is closed when the test ends.
func newTestService(t testing.TB, mutate func(*Config)) (*Service, *core.VirtualClock) {
	t.Helper()
	clock := core.NewVirtualClock(nil)
	// Timestamps follow the virtual clock here so retries driven by
	// Advance carry distinct, predictable values; the default (real time)
	// is tested in TestTimestampFollowsRealTime.
	cfg := Config{Clock: clock, IDs: core.NewIDs(nil), Fixtures: fixtures.MustDefault(), AllowLocalTargets: true, Jitter: -1,
		WallClock: clock.Now}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		clock.Close()
	})
	return s, clock
}

// received is one request a receiver got.
type received struct {
	Header http.Header
	Body   []byte
	Event  Event
}

// receiver is a real HTTP endpoint recording what it receives and
// answering with respond (200 when nil).
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	got     []received
	respond func(n int, r *http.Request) (status int, header http.Header, body string)
	arrived chan received
}

func newReceiver(t testing.TB, respond func(n int, r *http.Request) (int, http.Header, string)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond, arrived: make(chan received, 100000)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev Event
		_ = json.Unmarshal(body, &ev)
		got := received{Header: r.Header.Clone(), Body: body, Event: ev}
		rc.mu.Lock()
		rc.got = append(rc.got, got)
		n := len(rc.got)
		rc.mu.Unlock()
		rc.arrived <- got
		status, header, text := http.StatusOK, http.Header(nil), "ok"
		if rc.respond != nil {
			status, header, text = rc.respond(n, r)
		}
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// verify checks a request with the Standard Webhooks library.
func verify(t testing.TB, secret string, got received, checkTimestamp bool) error {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if checkTimestamp {
		return wh.Verify(got.Body, got.Header)
	}
	return wh.VerifyIgnoringTimestamp(got.Body, got.Header)
}

func subscribe(t testing.TB, s *Service, tenant, url string, events ...string) Webhook {
	t.Helper()
	w, err := s.Subscribe(context.Background(), tenant, Subscription{URL: url, Events: events})
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return w
}

func waitIdle(t testing.TB, s *Service) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitIdle(ctx); err != nil {
		t.Fatalf("engine not idle: %v", err)
	}
}

func onlyDelivery(t testing.TB, s *Service, w Webhook) Delivery {
	t.Helper()
	ds, err := s.Deliveries(context.Background(), w.Tenant, w.ID, DeliveryFilter{})
	if err != nil || len(ds) != 1 {
		t.Fatalf("deliveries of %s: %d, %v; want exactly 1", w.ID, len(ds), err)
	}
	return ds[0]
}

// apiServer serves the webhooks API through the core router with fake
// authenticators: admin tokens from the fixtures, and access tokens
// written "app:TENANT:SCOPE,SCOPE".
func apiServer(t testing.TB, s *Service) *httptest.Server {
	t.Helper()
	doc, err := specs.Load("webhooks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	fx := s.cfg.Fixtures
	admin := core.AuthenticatorFunc(func(_ context.Context, tok string) (*core.Principal, error) {
		tn, ok := fx.TenantByAdminToken(tok)
		if !ok {
			return nil, core.ErrInvalidToken
		}
		return &core.Principal{Kind: core.KindAdmin, Tenant: tn.ID, Subject: "admin"}, nil
	})
	access := core.AuthenticatorFunc(func(_ context.Context, tok string) (*core.Principal, error) {
		parts := strings.SplitN(tok, ":", 3)
		if len(parts) != 3 || parts[0] != "app" {
			return nil, core.ErrInvalidToken
		}
		return &core.Principal{Kind: core.KindApp, Tenant: parts[1], Subject: "app_test", ClientID: "cli_test", Scopes: strings.Split(parts[2], ",")}, nil
	})
	rt, err := core.NewRouter(core.RouterConfig{
		APIs:     []core.API{s.API(doc)},
		Security: map[string]core.Authenticator{"adminToken": admin, "accessToken": access},
		IDs:      core.NewIDs(nil),
		CheckResponse: func(_ *http.Request, op string, err error) {
			t.Errorf("response of %s does not match the spec: %v", op, err)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	return srv
}

// call makes an API request and decodes the JSON answer into out (when
// not nil); it returns the status.
func call(t testing.TB, srv *httptest.Server, method, path, token string, body any, out any, header ...string) (int, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode, resp.Header
}

func statusOf(n int) func(int, *http.Request) (int, http.Header, string) {
	return func(int, *http.Request) (int, http.Header, string) { return n, nil, fmt.Sprintf("status %d", n) }
}
