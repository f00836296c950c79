package idempotency

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

var createOp = core.OperationInfo{API: "platform", OperationID: "createApp", Method: http.MethodPost,
	Path: "/v1/platform/apps", Errors: core.WriteRequestProblem}

// keyedRequest is a write of the acme administrator with an Idempotency-Key.
func keyedRequest(key string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/platform/apps", strings.NewReader(`{"name":"x"}`))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set(KeyHeader, key)
	return r.WithContext(core.WithPrincipal(r.Context(), &core.Principal{Tenant: "acme", Subject: "admin"}))
}

func newLayer(t *testing.T, wait time.Duration) *Layer {
	t.Helper()
	l, err := New(Config{Clock: core.NewVirtualClock(time.Now), APIs: map[string]Applies{"platform": nil}, Wait: wait})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestWaitBoundAnswersInProgress: a request whose key's first request is
// still running past the wait bound gets 409 idempotency_key_in_progress;
// once the first finishes, the same request gets its answer replayed.
func TestWaitBoundAnswersInProgress(t *testing.T) {
	l := newLayer(t, time.Millisecond)
	started, release := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	h := l.Wrap(createOp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 1 {
			close(started)
			<-release
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"app_1"}`))
	}))
	first := make(chan *httptest.ResponseRecorder)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, keyedRequest("k"))
		first <- rec
	}()
	<-started
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, keyedRequest("k"))
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), `"idempotency_key_in_progress"`) {
		t.Errorf("while the first runs: %d %s", rec.Code, rec.Body)
	}
	close(release)
	if r := <-first; r.Code != http.StatusCreated || r.Header().Get(ReplayedHeader) != "" {
		t.Errorf("first: %d replayed=%q", r.Code, r.Header().Get(ReplayedHeader))
	}
	wantReplayOfTheOne(t, "after the first", h, &runs)
}

// wantReplayOfTheOne sends the keyed create again to h: it must answer
// the replay of the one run's 201, and the handler must have run once.
func wantReplayOfTheOne(t *testing.T, what string, h http.Handler, runs *atomic.Int32) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, keyedRequest("k"))
	if rec.Code != http.StatusCreated || rec.Header().Get(ReplayedHeader) != "true" || rec.Body.String() != `{"id":"app_1"}` {
		t.Errorf("%s: %d replayed=%q %s, want the replay of the first answer", what, rec.Code, rec.Header().Get(ReplayedHeader), rec.Body)
	}
	if n := runs.Load(); n != 1 {
		t.Errorf("handler ran %d times, want once", n)
	}
}

// TestServerErrorsAreNotKept: a 5xx answer is forgotten, so the retry with
// the same key runs the handler again and is not marked a replay; the 4xx
// that follows is kept.
func TestServerErrorsAreNotKept(t *testing.T) {
	l := newLayer(t, 0)
	statuses := []int{http.StatusInternalServerError, http.StatusServiceUnavailable, http.StatusConflict}
	var runs atomic.Int32
	h := l.Wrap(createOp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(statuses[runs.Add(1)-1])
	}))
	for i, want := range []struct {
		status   int
		replayed string
	}{{500, ""}, {503, ""}, {409, ""}, {409, "true"}} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, keyedRequest("k"))
		if rec.Code != want.status || rec.Header().Get(ReplayedHeader) != want.replayed {
			t.Errorf("request %d: %d replayed=%q, want %d %q", i+1, rec.Code, rec.Header().Get(ReplayedHeader), want.status, want.replayed)
		}
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("handler ran %d times, want 3", n)
	}
}

// TestResetTenantForgetsItsKeys: after ResetTenant, the tenant's key runs
// the handler again instead of replaying.
func TestResetTenantForgetsItsKeys(t *testing.T) {
	l := newLayer(t, 0)
	var runs atomic.Int32
	h := l.Wrap(createOp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	for _, reset := range []string{"", "globex", "acme"} {
		if reset != "" {
			_ = l.ResetTenant(context.Background(), reset)
		}
		h.ServeHTTP(httptest.NewRecorder(), keyedRequest("k"))
	}
	if n := runs.Load(); n != 2 {
		t.Errorf("handler ran %d times, want 2: once, replayed after another tenant's reset, once more after acme's", n)
	}
}
