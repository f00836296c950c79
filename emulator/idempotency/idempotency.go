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
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
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
}

// Layer is the idempotency middleware and its key store.
type Layer struct {
	cfg Config

	mu      sync.Mutex
	tenants map[string]*tenantKeys
}

// tenantKeys holds one tenant's keys, oldest first in order.
type tenantKeys struct {
	entries map[string]*entry
	order   []*entry
}

// entry is one key: in progress until done is closed, then either a kept
// answer (resp != nil) or forgotten (removed from the store).
type entry struct {
	scope       string
	fingerprint [32]byte
	created     time.Time
	done        chan struct{}
	resp        *response
}

// response is a kept answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// New validates cfg and returns an empty Layer.
func New(cfg Config) (*Layer, error) {
	var errs []error
	if cfg.Clock == nil {
		errs = append(errs, errors.New("idempotency: Config.Clock is required"))
	}
	if cfg.TTL < 0 || cfg.MaxPerTenant < 0 || cfg.Wait < 0 {
		errs = append(errs, errors.New("idempotency: Config.TTL, MaxPerTenant and Wait must not be negative"))
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
	return &Layer{cfg: cfg, tenants: map[string]*tenantKeys{}}, nil
}

// Reset forgets every key (the sandbox reset).
func (l *Layer) Reset() {
	l.mu.Lock()
	l.tenants = map[string]*tenantKeys{}
	l.mu.Unlock()
}

// ResetTenant forgets the keys of one tenant (the tenant was deleted or
// reset), so a tenant created again under its id replays nothing.
func (l *Layer) ResetTenant(tenant string) {
	l.mu.Lock()
	delete(l.tenants, tenant)
	l.mu.Unlock()
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

// serve answers a keyed request: replay, refuse, wait for the first, or run
// as the first and keep the answer.
func (l *Layer) serve(w http.ResponseWriter, r *http.Request, op core.OperationInfo, next http.Handler, p *core.Principal, key string, fp [32]byte) {
	scope := scopeOf(p, op.OperationID, key)
	var deadline <-chan time.Time
	for {
		e, first := l.claim(p.Tenant, scope, fp)
		if first {
			l.run(w, r, next, p.Tenant, e)
			return
		}
		if e.fingerprint != fp {
			op.Errors(w, r, &core.RequestError{Status: http.StatusUnprocessableEntity, Code: codeReused,
				Detail: "this Idempotency-Key was used with a different request (method, path or body); use a new key for a new request"})
			return
		}
		if deadline == nil {
			t := time.NewTimer(l.cfg.Wait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-e.done:
		case <-deadline:
			op.Errors(w, r, &core.RequestError{Status: http.StatusConflict, Code: codeInProgress,
				Detail: "a request with this Idempotency-Key is still being processed; retry later"})
			return
		case <-r.Context().Done():
			return
		}
		if e.resp != nil {
			replay(w, e.resp)
			return
		}
		// The first answered 5xx and was forgotten: this one runs.
	}
}

// claim returns the live entry of scope, or creates one in progress (first).
func (l *Layer) claim(tenant, scope string, fp [32]byte) (e *entry, first bool) {
	clock := l.cfg.Clock
	if tenant != "" && l.cfg.TenantClock != nil {
		clock = l.cfg.TenantClock(tenant)
	}
	now := clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	tk := l.tenants[tenant]
	if tk == nil {
		tk = &tenantKeys{entries: map[string]*entry{}}
		l.tenants[tenant] = tk
	}
	if e := tk.entries[scope]; e != nil && now.Sub(e.created) < l.cfg.TTL {
		return e, false
	}
	e = &entry{scope: scope, fingerprint: fp, created: now, done: make(chan struct{})}
	tk.entries[scope] = e
	tk.order = append(tk.order, e)
	l.pruneLocked(tk, now)
	return e, true
}

// pruneLocked drops expired and superseded entries at the head of the
// order and evicts the oldest past MaxPerTenant.
func (l *Layer) pruneLocked(tk *tenantKeys, now time.Time) {
	drop := 0
	for drop < len(tk.order) {
		e := tk.order[drop]
		live := tk.entries[e.scope] == e
		if live && now.Sub(e.created) < l.cfg.TTL && len(tk.order)-drop <= l.cfg.MaxPerTenant {
			break
		}
		if live {
			delete(tk.entries, e.scope)
		}
		drop++
	}
	if drop > 0 {
		tk.order = append([]*entry(nil), tk.order[drop:]...)
	}
}

// run serves the first request of a key and keeps its answer unless it is
// a 5xx (or the handler panicked), which is forgotten so a retry runs.
// A reply shaped by an injected fault never reaches this layer (faults wrap
// it), so it is never kept; a fault that only delays the request or acts on
// the keys leaves the answer as the handler wrote it, and that is kept, or
// the retry of a slow create would create twice.
func (l *Layer) run(w http.ResponseWriter, r *http.Request, next http.Handler, tenant string, e *entry) {
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	kept := false
	defer func() {
		l.mu.Lock()
		if kept {
			e.resp = rec.response()
		} else if tk := l.tenants[tenant]; tk != nil && tk.entries[e.scope] == e {
			delete(tk.entries, e.scope)
		}
		l.mu.Unlock()
		close(e.done)
	}()
	next.ServeHTTP(rec, r)
	kept = rec.status < http.StatusInternalServerError
}

// replay writes a kept answer with the replay header.
func replay(w http.ResponseWriter, resp *response) {
	h := w.Header()
	for k, vs := range resp.header {
		h[k] = append([]string(nil), vs...)
	}
	h.Set(ReplayedHeader, "true")
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
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
// keys. The tenant is the store's outer map.
func scopeOf(p *core.Principal, operation, key string) string {
	who := string(p.Kind) + ":" + p.ClientID
	switch p.Kind {
	case core.KindAdmin:
		who = "admin"
	case core.KindUser:
		who += ":" + p.UserID
	}
	return who + "\x00" + operation + "\x00" + key
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
