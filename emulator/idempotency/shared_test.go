package idempotency

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// sharedStore is a MemoryStore seen as a durable store shared by
// processes: it cannot signal a claim's end (Entry.Done nil), so waiters
// poll, and the layers over it lease their claims.
type sharedStore struct{ *MemoryStore }

func (s sharedStore) Claim(ctx context.Context, c Claim) (Entry, bool, error) {
	e, first, err := s.MemoryStore.Claim(ctx, c)
	e.Done = nil
	return e, first, err
}

// replicaLayer is a layer over store, as one replica's.
func replicaLayer(t *testing.T, store Store, wait, lease time.Duration) *Layer {
	t.Helper()
	l, err := New(Config{Clock: core.NewVirtualClock(time.Now), APIs: map[string]Applies{"platform": nil},
		Wait: wait, Lease: lease, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestSharedStoreReplaysAcrossLayers: a request waiting on another
// layer's claim polls the store and replays its answer once it is kept;
// the first's lease, shorter than its run, holds because its layer
// renews it.
func TestSharedStoreReplaysAcrossLayers(t *testing.T) {
	store := sharedStore{NewMemoryStore()}
	a, b := replicaLayer(t, store, 5*time.Second, 40*time.Millisecond), replicaLayer(t, store, 5*time.Second, 40*time.Millisecond)
	started, release := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 1 {
			close(started)
			<-release
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"app_1"}`))
	})
	ha, hb := a.Wrap(createOp, handler), b.Wrap(createOp, handler)
	go ha.ServeHTTP(httptest.NewRecorder(), keyedRequest("k"))
	<-started
	time.AfterFunc(200*time.Millisecond, func() { close(release) }) // five leases
	wantReplayOfTheOne(t, "the request on B", hb, &runs)
}

// TestSharedStoreWakesWaitersOfItsOwnClaimAtOnce: on a store that cannot
// signal, a waiter of a claim its own layer runs wakes as it ends, not
// at its next poll.
func TestSharedStoreWakesWaitersOfItsOwnClaimAtOnce(t *testing.T) {
	l := replicaLayer(t, sharedStore{NewMemoryStore()}, 5*time.Second, time.Minute)
	started, release := make(chan struct{}), make(chan struct{})
	h := l.Wrap(createOp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		w.WriteHeader(http.StatusCreated)
	}))
	go h.ServeHTTP(httptest.NewRecorder(), keyedRequest("k"))
	<-started
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, keyedRequest("k"))
		done <- rec
	}()
	// Let the waiter back off to its longest poll.
	time.Sleep(3 * pollMax)
	close(release)
	ended := time.Now()
	rec := <-done
	if took := time.Since(ended); took > pollMax/2 {
		t.Errorf("the waiter answered %v after the first ended, want at once", took)
	}
	if rec.Code != http.StatusCreated || rec.Header().Get(ReplayedHeader) != "true" {
		t.Errorf("waiter: %d %q", rec.Code, rec.Header().Get(ReplayedHeader))
	}
}

// TestSharedStoreTakesOverALapsedClaim: a claim whose process died (its
// lease lapses, nobody renews it) blocks its key only until the lease
// lapses: a waiting request then takes the key over and runs.
func TestSharedStoreTakesOverALapsedClaim(t *testing.T) {
	store := sharedStore{NewMemoryStore()}
	l := replicaLayer(t, store, 5*time.Second, time.Minute)
	var runs atomic.Int32
	h := l.Wrap(createOp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	// The dead replica's claim, for the same request, leased 100 ms.
	req := keyedRequest("k")
	body, _ := readBack(req)
	now := time.Now()
	_, first, _ := store.Claim(context.Background(), Claim{Tenant: "acme", Scope: scopeOf(core.PrincipalFrom(req.Context()), createOp.OperationID, "k"),
		Fingerprint: fingerprint(req, body), Now: l.cfg.Clock.Now(), TTL: DefaultTTL, MaxPerTenant: DefaultMaxPerTenant,
		RealNow: now, Lease: now.Add(100 * time.Millisecond)})
	if !first {
		t.Fatal("the dead replica's claim was not first")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, keyedRequest("k"))
	if rec.Code != http.StatusCreated || rec.Header().Get(ReplayedHeader) != "" || runs.Load() != 1 {
		t.Errorf("after the lease lapsed: %d %q, runs %d; want the request run", rec.Code, rec.Header().Get(ReplayedHeader), runs.Load())
	}
	if took := time.Since(now); took < 100*time.Millisecond {
		t.Errorf("the key was taken over after %v, before its lease lapsed", took)
	}
}

// failingStore is a store that cannot be reached.
type failingStore struct{ sharedStore }

func (failingStore) Claim(context.Context, Claim) (Entry, bool, error) {
	return Entry{}, false, errors.New("connection refused")
}

// TestUnreachableStoreAnswers503: a keyed request whose store cannot be
// reached runs nothing and answers 503 service_unavailable, which a client
// retries; a request without a key never asks the store.
func TestUnreachableStoreAnswers503(t *testing.T) {
	l := replicaLayer(t, failingStore{sharedStore{NewMemoryStore()}}, time.Second, time.Minute)
	var runs atomic.Int32
	h := l.Wrap(createOp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, keyedRequest("k"))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"service_unavailable"`) || runs.Load() != 0 {
		t.Errorf("keyed: %d %s, runs %d", rec.Code, rec.Body, runs.Load())
	}
	unkeyed := keyedRequest("k")
	unkeyed.Header.Del(KeyHeader)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, unkeyed)
	if rec.Code != http.StatusCreated || runs.Load() != 1 {
		t.Errorf("unkeyed: %d, runs %d", rec.Code, runs.Load())
	}
}

// TestSharedStoreWaitBoundAnswersInProgress: a request polling for
// another layer's claim past its wait bound gets 409
// idempotency_key_in_progress, and a request with another body 422 at
// once.
func TestSharedStoreWaitBoundAnswersInProgress(t *testing.T) {
	store := sharedStore{NewMemoryStore()}
	a, b := replicaLayer(t, store, time.Minute, time.Minute), replicaLayer(t, store, 50*time.Millisecond, time.Minute)
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	ha := a.Wrap(createOp, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	}))
	go ha.ServeHTTP(httptest.NewRecorder(), keyedRequest("k"))
	<-started
	hb := b.Wrap(createOp, http.NotFoundHandler())
	rec := httptest.NewRecorder()
	hb.ServeHTTP(rec, keyedRequest("k"))
	if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), `"idempotency_key_in_progress"`) {
		t.Errorf("while A runs: %d %s", rec.Code, rec.Body)
	}
	other := keyedRequest("k")
	other.Body = io.NopCloser(strings.NewReader(`{"name":"y"}`))
	rec = httptest.NewRecorder()
	hb.ServeHTTP(rec, other)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `"idempotency_key_reused"`) {
		t.Errorf("another body while A runs: %d %s", rec.Code, rec.Body)
	}
}

// flakyStore is a shared store whose Renew, Complete and Forget fail (or
// hang until their context ends) on the calls failN says.
type flakyStore struct {
	sharedStore
	renews, completes atomic.Int32
	renewFails        func(n int32) bool // the nth Renew fails
	renewHangs        func(n int32) bool // the nth Renew hangs
	completeFails     func(n int32) bool // the nth Complete fails
	forgets           atomic.Int32
	forgetFails       func(n int32) bool // the nth Forget fails
}

func (s *flakyStore) Forget(ctx context.Context, tenant, scope string, token int64) error {
	if n := s.forgets.Add(1); s.forgetFails != nil && s.forgetFails(n) {
		return errors.New("connection reset")
	}
	return s.sharedStore.Forget(ctx, tenant, scope, token)
}

func (s *flakyStore) Renew(ctx context.Context, tenant, scope string, token int64, lease time.Time) error {
	n := s.renews.Add(1)
	if s.renewHangs != nil && s.renewHangs(n) {
		<-ctx.Done()
		return ctx.Err()
	}
	if s.renewFails != nil && s.renewFails(n) {
		return errors.New("connection reset")
	}
	return s.sharedStore.Renew(ctx, tenant, scope, token, lease)
}

func (s *flakyStore) Complete(ctx context.Context, tenant, scope string, token int64, resp Response) error {
	if n := s.completes.Add(1); s.completeFails != nil && s.completeFails(n) {
		return errors.New("connection reset")
	}
	return s.sharedStore.Complete(ctx, tenant, scope, token, resp)
}

// slowCreate is a handler that creates app_1, the first run taking d.
func slowCreate(runs *atomic.Int32, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 1 {
			time.Sleep(d)
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"app_1"}`))
	})
}

// TestSharedStoreRenewalOutlivesAFailedOrSlowRenew: a renewal that fails
// or hangs does not let the lease lapse under a running request: the
// layer renews on a schedule of its own with a bound on each call and
// tries again soon, so a waiter on another layer replays the one run.
func TestSharedStoreRenewalOutlivesAFailedOrSlowRenew(t *testing.T) {
	const lease = 150 * time.Millisecond
	for name, store := range map[string]*flakyStore{
		"failing": {sharedStore: sharedStore{NewMemoryStore()}, renewFails: func(n int32) bool { return n <= 2 }},
		"hanging": {sharedStore: sharedStore{NewMemoryStore()}, renewHangs: func(n int32) bool { return n == 1 }},
	} {
		t.Run(name, func(t *testing.T) {
			a, b := replicaLayer(t, store, 5*time.Second, lease), replicaLayer(t, store, 5*time.Second, lease)
			var runs atomic.Int32
			first := make(chan struct{})
			go func() {
				defer close(first)
				a.Wrap(createOp, slowCreate(&runs, 4*lease)).ServeHTTP(httptest.NewRecorder(), keyedRequest("k"))
			}()
			for runs.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			wantReplayOfTheOne(t, "the request on B", b.Wrap(createOp, slowCreate(&runs, 0)), &runs)
			<-first
		})
	}
}

// TestSharedStoreKeepsAnAnswerWhoseCompleteFailed: a Complete that fails
// is tried again, the lease renewed meanwhile, so a retry on another
// layer replays the one run; one that keeps failing leaves the answer
// with the layer that ran it, which replays it.
func TestSharedStoreKeepsAnAnswerWhoseCompleteFailed(t *testing.T) {
	const lease = 100 * time.Millisecond
	t.Run("fails twice", func(t *testing.T) {
		store := &flakyStore{sharedStore: sharedStore{NewMemoryStore()}, completeFails: func(n int32) bool { return n <= 2 }}
		a, b := replicaLayer(t, store, 5*time.Second, lease), replicaLayer(t, store, 5*time.Second, lease)
		a.completeRetries = []time.Duration{2 * lease, 2 * lease, 2 * lease}
		var runs atomic.Int32
		first := make(chan struct{})
		go func() {
			defer close(first)
			a.Wrap(createOp, slowCreate(&runs, 0)).ServeHTTP(httptest.NewRecorder(), keyedRequest("k"))
		}()
		for store.completes.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		wantReplayOfTheOne(t, "the request on B", b.Wrap(createOp, slowCreate(&runs, 0)), &runs)
		<-first
	})
	t.Run("keeps failing", func(t *testing.T) {
		store := &flakyStore{sharedStore: sharedStore{NewMemoryStore()}, completeFails: func(int32) bool { return true }}
		a := replicaLayer(t, store, 5*time.Second, lease)
		a.completeRetries = []time.Duration{time.Millisecond, time.Millisecond}
		var runs atomic.Int32
		h := a.Wrap(createOp, slowCreate(&runs, 0))
		h.ServeHTTP(httptest.NewRecorder(), keyedRequest("k"))
		if n := store.completes.Load(); n != 3 {
			t.Errorf("Complete was called %d times, want 3", n)
		}
		time.Sleep(2 * lease) // the store's claim lapses
		wantReplayOfTheOne(t, "the retry on the same layer", h, &runs)
		other := keyedRequest("k")
		other.Body = io.NopCloser(strings.NewReader(`{"name":"y"}`))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, other)
		if rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("another body: %d %s, want 422", rec.Code, rec.Body)
		}
		if err := a.ResetTenant(context.Background(), "acme"); err != nil {
			t.Fatal(err)
		}
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, keyedRequest("k"))
		if rec.Header().Get(ReplayedHeader) != "" || runs.Load() != 2 {
			t.Errorf("after the tenant's reset: replayed=%q, runs %d; want the request run", rec.Header().Get(ReplayedHeader), runs.Load())
		}
	})
}

// TestSharedStoreRetriesAFailedForget: a 5xx answer whose Forget fails
// once is forgotten on a further attempt, so a retry on another layer
// runs at once instead of waiting for the lease.
func TestSharedStoreRetriesAFailedForget(t *testing.T) {
	store := &flakyStore{sharedStore: sharedStore{NewMemoryStore()}, forgetFails: func(n int32) bool { return n == 1 }}
	a, b := replicaLayer(t, store, 100*time.Millisecond, time.Minute), replicaLayer(t, store, 100*time.Millisecond, time.Minute)
	a.completeRetries = []time.Duration{time.Millisecond}
	var runs atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	a.Wrap(createOp, h).ServeHTTP(httptest.NewRecorder(), keyedRequest("k"))
	rec := httptest.NewRecorder()
	b.Wrap(createOp, h).ServeHTTP(rec, keyedRequest("k"))
	if rec.Code != http.StatusCreated || runs.Load() != 2 {
		t.Errorf("the retry on B: %d %s, runs %d; want it run", rec.Code, rec.Body, runs.Load())
	}
}
