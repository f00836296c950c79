// Package idempotency makes the platform's own writes safe to retry: a
// request carrying an Idempotency-Key is answered once, and a retry with the
// same key and the same request gets the first answer back (status, headers,
// body) instead of running again. It is router middleware (core's
// RouterConfig.Wrap), so it sees the authenticated principal and the
// validated body, and it speaks each API's error format through the
// operation's core.ErrorWriter.
//
// The behaviour follows Stripe's documented idempotent requests: keys live
// 24 hours (of the tenant's clock), a key reused with another request is
// refused, a 5xx answer is not kept (the request may be retried), every
// other answer is.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// Header names.
const (
	// KeyHeader carries the client's key.
	KeyHeader = "Idempotency-Key"
	// ReplayedHeader is "true" on an answer replayed from the store.
	ReplayedHeader = core.ReplayedHeader
)

// Defaults of Config; README ("Idempotency keys") documents them.
const (
	DefaultTTL          = 24 * time.Hour
	DefaultMaxPerTenant = 10000
	DefaultWait         = 10 * time.Second
	DefaultLease        = 30 * time.Second
	MaxKeyLength        = 255
	codeReused          = "idempotency_key_reused"
	codeInProgress      = "idempotency_key_in_progress"
)

// Applies decides whether a request of an operation honours the key. body
// is the request body the router has read and validated.
type Applies func(r *http.Request, body []byte) bool

// Config configures a Layer.
type Config struct {
	// Clock measures the keys' lifetime (the sandbox clock).
	Clock core.Clock
	// TenantClock, when set, measures the lifetime of a tenant's keys on
	// the tenant's own clock instead.
	TenantClock core.ClockFor
	// APIs names the APIs whose operations other than GET and HEAD honour
	// the key; each maps to an optional further test (GraphQL: only
	// mutations), nil meaning every such request.
	APIs map[string]Applies
	// TTL is how long a key is kept (DefaultTTL when zero).
	TTL time.Duration
	// MaxPerTenant bounds the keys kept per tenant; the oldest is evicted
	// (DefaultMaxPerTenant when zero).
	MaxPerTenant int
	// Wait bounds, in real time, how long a request waits for the first
	// request with its key to finish (DefaultWait when zero); past it the
	// answer is 409 idempotency_key_in_progress.
	Wait time.Duration
	// Store keeps the keys (a MemoryStore when nil).
	Store Store
	// Lease is how long, in real time, a claim in progress in a durable
	// Store holds without word from its request (DefaultLease when zero):
	// the request renews it while it runs, so a claim whose lease lapsed
	// is one whose process died, and a retry takes the key over.
	Lease time.Duration
	// RealNow reads the real time leases are measured in (time.Now when
	// nil).
	RealNow func() time.Time
	// Logger reports a kept answer the store would not take
	// (slog.Default() when nil).
	Logger *slog.Logger
}

// Layer is the idempotency middleware over its key store.
type Layer struct {
	cfg   Config
	store Store
	// inProcess: the store is the process's own (MemoryStore), whose
	// claims need no lease: a request in progress there is alive.
	inProcess bool

	// running wakes this process's waiters on a claim it runs in a store
	// that cannot (Entry.Done nil), by tenant and scope.
	mu      sync.Mutex
	running map[runKey]chan struct{}

	// unsaved holds, by tenant and scope, the answers this process kept
	// but the store would not take (Complete failed after its retries),
	// so at least this process replays them; unsavedOrder evicts the
	// oldest past maxUnsaved.
	unsaved      map[runKey]unsavedAnswer
	unsavedOrder []runKey

	// completeRetries are the pauses before each further attempt of a
	// Complete or Forget that failed.
	completeRetries []time.Duration
}

// unsavedAnswer is a kept answer only this process holds: its request's
// fingerprint, the answer, and when it was kept on the tenant's clock.
type unsavedAnswer struct {
	fp   [32]byte
	resp *Response
	at   time.Time
}

// maxUnsaved bounds Layer.unsaved.
const maxUnsaved = 1024

// defaultCompleteRetries: a Complete or Forget is tried for about three
// seconds.
var defaultCompleteRetries = []time.Duration{25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, 1600 * time.Millisecond}

type runKey struct{ tenant, scope string }

// New validates cfg and returns an empty Layer.
func New(cfg Config) (*Layer, error) {
	var errs []error
	if cfg.Clock == nil {
		errs = append(errs, errors.New("idempotency: Config.Clock is required"))
	}
	if cfg.TTL < 0 || cfg.MaxPerTenant < 0 || cfg.Wait < 0 || cfg.Lease < 0 {
		errs = append(errs, errors.New("idempotency: Config.TTL, MaxPerTenant, Wait and Lease must not be negative"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.TTL == 0 {
		cfg.TTL = DefaultTTL
	}
	if cfg.MaxPerTenant == 0 {
		cfg.MaxPerTenant = DefaultMaxPerTenant
	}
	if cfg.Wait == 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.Lease == 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.RealNow == nil {
		cfg.RealNow = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	l := &Layer{cfg: cfg, store: cfg.Store, running: map[runKey]chan struct{}{},
		unsaved: map[runKey]unsavedAnswer{}, completeRetries: defaultCompleteRetries}
	if l.store == nil {
		l.store = NewMemoryStore()
	}
	_, l.inProcess = l.store.(*MemoryStore)
	return l, nil
}

// Reset forgets every key (the sandbox reset).
func (l *Layer) Reset(ctx context.Context) error {
	l.forgetUnsaved(func(runKey) bool { return true })
	return l.store.Reset(ctx)
}

// ResetTenant forgets the keys of one tenant (the tenant was deleted or
// reset), so a tenant created again under its id replays nothing.
func (l *Layer) ResetTenant(ctx context.Context, tenant string) error {
	l.forgetUnsaved(func(k runKey) bool { return k.tenant == tenant })
	return l.store.ResetTenant(ctx, tenant)
}

// forgetUnsaved drops the unsaved answers of the keys match picks.
func (l *Layer) forgetUnsaved(match func(runKey) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	order := l.unsavedOrder[:0]
	for _, k := range l.unsavedOrder {
		if match(k) {
			delete(l.unsaved, k)
		} else {
			order = append(order, k)
		}
	}
	l.unsavedOrder = order
}

// Wrap is the router middleware: operations of other APIs, and GET/HEAD,
// pass through untouched.
func (l *Layer) Wrap(op core.OperationInfo, next http.Handler) http.Handler {
	applies, ok := l.cfg.APIs[op.API]
	if !ok || op.Method == http.MethodGet || op.Method == http.MethodHead {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vals := r.Header.Values(KeyHeader)
		if len(vals) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		body, err := readBack(r)
		if err != nil {
			op.Errors(w, r, &core.RequestError{Status: http.StatusBadRequest, Code: "invalid_request",
				Detail: "the request body could not be read"})
			return
		}
		if applies != nil && !applies(r, body) {
			next.ServeHTTP(w, r)
			return
		}
		if len(vals) != 1 || !validKey(vals[0]) {
			op.Errors(w, r, &core.RequestError{Status: http.StatusBadRequest, Code: "invalid_request",
				Detail: fmt.Sprintf("header.%s: one key of 1 to %d printable ASCII characters", KeyHeader, MaxKeyLength),
				Fields: []core.FieldError{{Field: "header." + KeyHeader, Reason: fmt.Sprintf("one value of 1 to %d printable ASCII characters", MaxKeyLength)}}})
			return
		}
		p := core.PrincipalFrom(r.Context())
		if p == nil { // every write is authenticated; nothing to scope a key by
			next.ServeHTTP(w, r)
			return
		}
		l.serve(w, r, op, next, p, vals[0], fingerprint(r, body))
	})
}

// Bounds of the backoff with which a request polls a durable store for
// the end of a claim another process runs.
const (
	pollFirst = 5 * time.Millisecond
	pollMax   = 200 * time.Millisecond
)

// serve answers a keyed request: replay, refuse, wait for the first, or run
// as the first and keep the answer.
func (l *Layer) serve(w http.ResponseWriter, r *http.Request, op core.OperationInfo, next http.Handler, p *core.Principal, key string, fp [32]byte) {
	scope := scopeOf(p, op.OperationID, key)
	var deadline <-chan time.Time
	backoff := pollFirst
	for {
		e, first, err := l.claim(r.Context(), p.Tenant, scope, fp)
		if err != nil {
			if r.Context().Err() == nil {
				op.Errors(w, r, &core.RequestError{Status: http.StatusServiceUnavailable, Code: "service_unavailable",
					Detail: "the Idempotency-Key store cannot be reached; retry later"})
			}
			return
		}
		if first {
			l.run(w, r, next, p.Tenant, scope, e)
			return
		}
		if e.Fingerprint != fp {
			op.Errors(w, r, &core.RequestError{Status: http.StatusUnprocessableEntity, Code: codeReused,
				Detail: "this Idempotency-Key was used with a different request (method, path or body); use a new key for a new request"})
			return
		}
		if e.Response != nil {
			replay(w, e.Response)
			return
		}
		if deadline == nil {
			t := time.NewTimer(l.cfg.Wait)
			defer t.Stop()
			deadline = t.C
		}
		done := e.Done
		if done == nil {
			done = l.runningHere(p.Tenant, scope)
		}
		var poll *time.Timer
		var polled <-chan time.Time
		if done == nil { // another process runs it: ask the store again soon
			poll = time.NewTimer(backoff)
			polled = poll.C
			backoff = min(2*backoff, pollMax)
		}
		ok := await(done, polled, deadline, r.Context().Done())
		if poll != nil {
			poll.Stop()
		}
		switch ok {
		case timedOut:
			op.Errors(w, r, &core.RequestError{Status: http.StatusConflict, Code: codeInProgress,
				Detail: "a request with this Idempotency-Key is still being processed; retry later"})
			return
		case gone:
			return
		}
		// The first ended (kept, or answered 5xx and forgotten), its
		// lease may have lapsed, or it is time to look again: claim anew.
	}
}

// Outcomes of await.
const (
	woken = iota
	timedOut
	gone
)

// await waits for the end of the claim (done), the next poll, the wait's
// deadline or the client's leaving.
func await(done <-chan struct{}, poll, deadline <-chan time.Time, left <-chan struct{}) int {
	select {
	case <-done:
	case <-poll:
	case <-deadline:
		return timedOut
	case <-left:
		return gone
	}
	return woken
}

// claim claims scope in the store at the tenant's clock; an answer this
// process kept but could not store is its answer.
func (l *Layer) claim(ctx context.Context, tenant, scope string, fp [32]byte) (Entry, bool, error) {
	clock := l.clockOf(tenant)
	if a, ok := l.unsavedAnswer(tenant, scope, clock.Now()); ok {
		return Entry{Fingerprint: a.fp, Response: a.resp}, false, nil
	}
	c := Claim{Tenant: tenant, Scope: scope, Fingerprint: fp, Now: clock.Now(), TTL: l.cfg.TTL, MaxPerTenant: l.cfg.MaxPerTenant}
	if !l.inProcess {
		c.RealNow = l.cfg.RealNow()
		c.Lease = c.RealNow.Add(l.cfg.Lease)
	}
	return l.store.Claim(ctx, c)
}

// clockOf is the clock of a tenant's keys.
func (l *Layer) clockOf(tenant string) core.Clock {
	if tenant != "" && l.cfg.TenantClock != nil {
		return l.cfg.TenantClock(tenant)
	}
	return l.cfg.Clock
}

// unsavedAnswer is the unsaved answer of scope still within the TTL at now.
func (l *Layer) unsavedAnswer(tenant, scope string, now time.Time) (unsavedAnswer, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.unsaved[runKey{tenant, scope}]
	if ok && !now.Before(a.at.Add(l.cfg.TTL)) {
		return unsavedAnswer{}, false // expired; evicted in its turn
	}
	return a, ok
}

// keepUnsaved holds an answer the store would not take, evicting the
// oldest past maxUnsaved.
func (l *Layer) keepUnsaved(tenant, scope string, a unsavedAnswer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := runKey{tenant, scope}
	if _, ok := l.unsaved[k]; !ok {
		l.unsavedOrder = append(l.unsavedOrder, k)
	}
	l.unsaved[k] = a
	for len(l.unsavedOrder) > maxUnsaved {
		delete(l.unsaved, l.unsavedOrder[0])
		l.unsavedOrder = l.unsavedOrder[1:]
	}
}

// runningHere is the channel closed when this process's claim of scope
// ends, nil when this process runs none.
func (l *Layer) runningHere(tenant, scope string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ch := l.running[runKey{tenant, scope}]; ch != nil {
		return ch
	}
	return nil
}

// run serves the first request of a key and keeps its answer unless it is
// a 5xx (or the handler panicked), which is forgotten so a retry runs.
// A reply shaped by an injected fault never reaches this layer (faults wrap
// it), so it is never kept; a fault that only delays the request or acts on
// the keys leaves the answer as the handler wrote it, and that is kept, or
// the retry of a slow create would create twice.
func (l *Layer) run(w http.ResponseWriter, r *http.Request, next http.Handler, tenant, scope string, e Entry) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	kept := false
	var stopRenew func()
	var here chan struct{}
	if e.Done == nil {
		here = make(chan struct{})
		l.mu.Lock()
		l.running[runKey{tenant, scope}] = here
		l.mu.Unlock()
	}
	if !l.inProcess {
		stopRenew = l.renew(tenant, scope, e.Token)
	}
	defer func() {
		// The answer is the client's already: keep it even when the
		// client has gone (the in-process store never looks at ctx).
		// The lease is renewed until the store has taken it, or the key
		// would lapse and a retry run the request again.
		ctx := r.Context()
		if !l.inProcess {
			ctx = context.WithoutCancel(ctx)
		}
		var resp Response
		if kept {
			resp = rec.response()
		}
		err := l.settle(ctx, tenant, scope, e.Token, kept, resp)
		for i := 0; err != nil && i < len(l.completeRetries); i++ {
			time.Sleep(l.completeRetries[i])
			err = l.settle(ctx, tenant, scope, e.Token, kept, resp)
		}
		if stopRenew != nil {
			stopRenew()
		}
		switch {
		case err != nil && kept:
			unsaved := resp
			l.keepUnsaved(tenant, scope, unsavedAnswer{fp: e.Fingerprint, resp: &unsaved, at: l.clockOf(tenant).Now()})
			l.cfg.Logger.Error("idempotency: the store did not keep an answer; only this process replays it, and a retry on another may run the request again",
				"tenant", tenant, "scope", logScope(scope), "status", resp.Status, "error", err)
		case err != nil:
			l.cfg.Logger.Warn("idempotency: the store did not forget a key answered 5xx; a retry waits for its lease to lapse",
				"tenant", tenant, "scope", logScope(scope), "error", err)
		}
		if here != nil {
			l.mu.Lock()
			if l.running[runKey{tenant, scope}] == here {
				delete(l.running, runKey{tenant, scope})
			}
			l.mu.Unlock()
			close(here)
		}
	}()
	next.ServeHTTP(rec, r)
	kept = rec.status < http.StatusInternalServerError
}

// settle keeps the answer of a claim (Complete) or forgets the claim
// (Forget); on a durable store the call is bounded by a third of the
// lease.
func (l *Layer) settle(ctx context.Context, tenant, scope string, token int64, kept bool, resp Response) error {
	if !l.inProcess {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.cfg.Lease/3)
		defer cancel()
	}
	if kept {
		return l.store.Complete(ctx, tenant, scope, token, resp)
	}
	return l.store.Forget(ctx, tenant, scope, token)
}

// renew keeps the lease of a durable claim while its request runs: an
// attempt each third of the lease, counted from the start of the last,
// each bounded by half that, and one that fails is tried again a sixth
// of it later, so one failed or slow renewal leaves the lease well ahead.
// The returned func stops it and returns once no attempt runs.
func (l *Layer) renew(tenant, scope string, token int64) (stop func()) {
	every := l.cfg.Lease / 3
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			start := time.Now()
			actx, acancel := context.WithTimeout(ctx, every/2)
			err := l.store.Renew(actx, tenant, scope, token, l.cfg.RealNow().Add(l.cfg.Lease))
			acancel()
			if err != nil && ctx.Err() == nil {
				l.cfg.Logger.Warn("idempotency: renewing the lease of a running request failed; retrying",
					"tenant", tenant, "scope", logScope(scope), "error", err)
				t.Reset(every / 6)
				continue
			}
			t.Reset(max(every-time.Since(start), 0))
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// logScope is a scope as a log shows it: its parts (principal,
// operation, key) apart.
func logScope(scope string) string { return strings.ReplaceAll(scope, "\x1f", " ") }

// replay writes a kept answer with the replay header.
func replay(w http.ResponseWriter, resp *Response) {
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = append([]string(nil), vs...)
	}
	h.Set(ReplayedHeader, "true")
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// readBack reads the body the router has buffered and puts it back.
func readBack(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	r.Body = readCloser{bytes.NewReader(data)}
	return data, nil
}

// validKey: 1 to MaxKeyLength printable ASCII characters.
func validKey(k string) bool {
	if k == "" || len(k) > MaxKeyLength {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// scopeOf keys the store by principal, operation and key: two apps of a
// tenant never see each other's keys, and one key on two operations is two
// keys. The tenant scopes the store's entries. The separator (US, 0x1f) is
// no key's character and is text PostgreSQL stores (NUL is not).
func scopeOf(p *core.Principal, operation, key string) string {
	who := string(p.Kind) + ":" + p.ClientID
	switch p.Kind {
	case core.KindAdmin:
		who = "admin"
	case core.KindUser:
		who += ":" + p.UserID
	}
	return who + "\x1f" + operation + "\x1f" + key
}

// fingerprint identifies the request a key was first used with.
func fingerprint(r *http.Request, body []byte) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s?%s\x00", r.Method, r.URL.Path, r.URL.RawQuery)
	h.Write(body)
	var out [32]byte
	h.Sum(out[:0])
	return out
}
