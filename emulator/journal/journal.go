// Package journal records every request the sandbox serves, per tenant,
// and streams requests, published events, delivery attempts and fault
// firings to subscribers as they happen (GET /_sandbox/requests and
// GET /_sandbox/stream). The router hands it each answered request through
// core.RouterConfig.Observe; the wiring connects the webhooks engine and
// the fault engine to it. It imports no other surface.
package journal

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// DefaultSize is how many requests the journal keeps per tenant (and in
// the ring of tenantless requests: /healthz, refused credentials); the
// oldest goes first.
const DefaultSize = 1000

// MaxBody is how much of a (redacted) request body an entry keeps.
const MaxBody = 4096

// Auth methods of an entry.
const (
	AuthAdminToken        = "admin_token"
	AuthAccessToken       = "access_token"
	AuthOperatorToken     = "operator_token"
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthNone              = "none"
)

// Auth says how a request authenticated.
type Auth struct {
	// Method is one of the Auth* constants.
	Method string `json:"method"`
	// Kind is the principal's kind (admin, app, user, operator), empty
	// when the router authenticated nobody.
	Kind     string `json:"kind"`
	Subject  string `json:"subject"`
	ClientID string `json:"client_id"`
}

// Entry is one recorded request.
type Entry struct {
	Seq       uint64    `json:"seq"`
	Time      time.Time `json:"time"`
	Tenant    string    `json:"tenant"`
	RequestID string    `json:"request_id"`
	Method    string    `json:"method"`
	Path      string    `json:"path"`
	Operation string    `json:"operation"`
	API       string    `json:"api"`
	Auth      Auth      `json:"auth"`
	Scopes    []string  `json:"scopes"`
	Status    int       `json:"status"`
	LatencyMS float64   `json:"latency_ms"`
	ErrorCode string    `json:"error_code,omitempty"`
	// Body is the request body with credentials redacted, at most MaxBody
	// bytes; BodyTruncated says more was cut.
	Body          string `json:"body"`
	BodyTruncated bool   `json:"body_truncated"`
	// Replayed says the answer was replayed for a repeated Idempotency-Key:
	// the request changed nothing.
	Replayed bool `json:"idempotent_replay,omitempty"`
}

// Config configures a Journal.
type Config struct {
	// Clock stamps entries (the sandbox clock, so `since` follows it).
	Clock core.Clock
	// TenantClock, when set, stamps a tenant's entries on the tenant's
	// own clock instead, so a partner's `since` follows the time it set.
	TenantClock core.ClockFor
	// Size is the ring size per tenant (DefaultSize when zero) of the
	// in-memory store; a Store given keeps its own bound.
	Size int
	// Logger logs a store's failures (discarded when nil).
	Logger *slog.Logger
	// Store keeps the entries: an in-memory ring per tenant (NewMemory)
	// when nil.
	Store Store
	// ClientTenant names the tenant of an OAuth client, for requests that
	// authenticate a client rather than a bearer (the token endpoint);
	// nil leaves them tenantless.
	ClientTenant func(clientID string) (string, bool)
	// Keepalive is the period of the stream's keepalive comment (15 s
	// when zero).
	Keepalive time.Duration
	// Buffer bounds each stream subscriber's pending frames (256 when
	// zero); past it frames are dropped and counted.
	Buffer int
}

// Journal is the request journal and the live stream. It is safe for
// concurrent use.
type Journal struct {
	cfg Config

	store Store

	mu   sync.Mutex
	seq  uint64 // numbers stream frames, and entries of a Store that does not
	subs map[*subscriber]struct{}
	// relay, when set, carries frames to and from the other replicas.
	relay Relay
	done  chan struct{}
	once  sync.Once
}

// New returns an empty journal.
func New(cfg Config) *Journal {
	if cfg.Size <= 0 {
		cfg.Size = DefaultSize
	}
	if cfg.Keepalive <= 0 {
		cfg.Keepalive = 15 * time.Second
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 256
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	st := cfg.Store
	if st == nil {
		st = NewMemory(cfg.Size)
	}
	return &Journal{cfg: cfg, store: st, subs: map[*subscriber]struct{}{}, done: make(chan struct{})}
}

// Close ends every open stream (the sandbox is shutting down).
func (j *Journal) Close() { j.once.Do(func() { close(j.done) }) }

// Record is the router's observer (core.RouterConfig.Observe): it turns
// an answered request into an entry, redacting its body, and streams it.
func (j *Journal) Record(r *http.Request, rec core.RequestRecord) {
	e := Entry{
		RequestID: rec.RequestID, Method: rec.Method, Path: rec.Path,
		Operation: rec.OperationID, API: rec.API, Status: rec.Status,
		LatencyMS: float64(rec.Latency.Microseconds()) / 1000, ErrorCode: rec.ErrorCode, Replayed: rec.Replayed,
		Scopes: []string{},
	}
	e.Auth, e.Tenant = j.authOf(r, &rec)
	if e.Tenant != "" && j.cfg.TenantClock != nil {
		e.Time = j.cfg.TenantClock(e.Tenant).Now().UTC()
	} else if j.cfg.Clock != nil {
		e.Time = j.cfg.Clock.Now().UTC()
	}
	if p := rec.Principal; p != nil && len(p.Scopes) > 0 {
		e.Scopes = slices.Clone(p.Scopes)
	}
	if len(rec.Body) > 0 {
		e.Body, e.BodyTruncated = RedactBody(r.Header.Get("Content-Type"), rec.Body)
	}
	j.add(e)
}

// authOf says how a request authenticated and for which tenant. A request
// that authenticates a client itself (the token endpoint) is told by its
// credentials: HTTP Basic (RFC 6749 §2.3.1) or client_secret in the form.
func (j *Journal) authOf(r *http.Request, rec *core.RequestRecord) (Auth, string) {
	if p := rec.Principal; p != nil {
		a := Auth{Kind: string(p.Kind), Subject: p.Subject, ClientID: p.ClientID}
		switch p.Kind {
		case core.KindAdmin:
			a.Method = AuthAdminToken
		case core.KindOperator:
			a.Method = AuthOperatorToken
		default:
			a.Method = AuthAccessToken
		}
		return a, p.Tenant
	}
	a := Auth{Method: AuthNone}
	if h := r.Header.Get("Authorization"); len(h) > 6 && strings.EqualFold(h[:6], "basic ") {
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[6:])); err == nil {
			if id, _, ok := strings.Cut(string(raw), ":"); ok {
				a.Method, a.ClientID = AuthClientSecretBasic, formUnescape(id)
			}
		}
	} else if isForm(r.Header.Get("Content-Type")) && len(rec.Body) > 0 {
		if id, secret := formClient(rec.Body); secret {
			a.Method, a.ClientID = AuthClientSecretPost, id
		} else if id != "" {
			a.ClientID = id
		}
	}
	tenant := ""
	if a.ClientID != "" && j.cfg.ClientTenant != nil {
		tenant, _ = j.cfg.ClientTenant(a.ClientID)
	}
	return a, tenant
}

// add numbers e, keeps it in the store and streams it. A store that
// numbers entries itself (a database's sequence, assigned when it writes
// the entry, after the request was answered) leaves the streamed entry's
// seq 0: the frame's id numbers the replica's stream only.
func (j *Journal) add(e Entry) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	if !j.store.Numbers() {
		e.Seq = j.seq
	}
	j.store.Append(e)
	fr := frame{seq: j.seq, kind: TypeRequest, tenant: e.Tenant, entry: &e}
	j.relayLocked(&fr, &e)
	if len(j.subs) > 0 {
		j.broadcast(fr, &e)
	}
}

// Clear forgets the requests of tenant, or of every tenant when tenant is
// empty. Sequence numbers go on, so cursors never point at new entries.
func (j *Journal) Clear(ctx context.Context, tenant string) error {
	return j.store.Clear(ctx, tenant)
}
