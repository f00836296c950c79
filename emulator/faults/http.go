package faults

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// FaultHeader names the rules that shaped a reply, so a user who sees an
// odd response can tell it was injected.
const FaultHeader = core.FaultHeader

// ControlAPI is the API name of the control plane, which faults never
// touch: a rule matching everything must not lock the operator out.
const ControlAPI = "sandbox"

// request is what HTTP rules match on.
type request struct {
	op        core.OperationInfo
	path      string
	tenant    string
	clientID  string
	requestID string
}

// httpPlan is what the firing rules do to one request.
type httpPlan struct {
	rules   []string
	latency time.Duration
	effects []func(ctx context.Context)
	reply   *Action
}

// Wrap is a core.RouterConfig.Wrap middleware: it applies the HTTP rules to
// every operation except the control plane's. It runs after authentication
// and validation, so tenant and client_id come from the credential.
func (e *Engine) Wrap(op core.OperationInfo, next http.Handler) http.Handler {
	if op.API == ControlAPI || strings.HasPrefix(op.Path, "/_sandbox/") {
		return next
	}
	e.mu.Lock()
	e.ops[op.OperationID] = true
	e.mu.Unlock()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plan := e.planHTTP(r, op)
		if len(plan.rules) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set(FaultHeader, strings.Join(plan.rules, ", "))
		for _, f := range plan.effects {
			f(r.Context())
		}
		// Several latency rules add up; the sum keeps the bound of one.
		if plan.latency > 0 && !e.sleep(r.Context(), min(plan.latency, MaxRequestWait)) {
			return
		}
		if plan.reply == nil {
			next.ServeHTTP(w, r)
			return
		}
		e.reply(w, r, op, *plan.reply, next)
	})
}

// planHTTP evaluates the HTTP rules in order. Latency and key faults of
// every firing rule add up, wherever they are listed; the first firing
// rule that shapes the reply wins, and later reply rules are shadowed:
// they are not evaluated, so their counters do not count the request.
func (e *Engine) planHTTP(r *http.Request, op core.OperationInfo) httpPlan {
	// Most requests meet no HTTP rule at all: settle that before reading
	// the clock, the principal or a token request's form. A rule added
	// meanwhile applies from the next request, as if added a moment later.
	e.mu.Lock()
	active := slices.ContainsFunc(e.rules, func(rs *ruleState) bool { return rs.target == TargetHTTP })
	e.mu.Unlock()
	if !active {
		return httpPlan{}
	}
	q := request{op: op, path: r.URL.Path, requestID: core.RequestIDFrom(r.Context())}
	if p := core.PrincipalFrom(r.Context()); p != nil {
		q.tenant, q.clientID = p.Tenant, p.ClientID
	}
	if q.clientID == "" {
		q.clientID = formClientID(r)
	}
	if q.tenant == "" && q.clientID != "" && e.cfg.ClientTenant != nil {
		q.tenant, _ = e.cfg.ClientTenant(q.clientID)
	}
	now := e.cfg.Clock.Now()
	var plan httpPlan
	e.mu.Lock()
	defer e.mu.Unlock()
	defer e.saveIfMatchedLocked(e.matchesLocked())
	for _, rs := range e.rules {
		if rs.target != TargetHTTP || plan.reply != nil && shapesReply(rs.rule.Action) ||
			!matchRequest(rs.rule.Match, q) || !e.fires(rs, now) {
			continue
		}
		ev := Event{At: now, RequestID: q.requestID, Operation: op.OperationID, Method: r.Method, Path: q.path, Tenant: q.tenant, ClientID: q.clientID}
		plan.rules = append(plan.rules, rs.rule.Name)
		a := rs.rule.Action
		switch {
		case a.Latency != nil:
			d := time.Duration(a.Latency.Fixed) + rs.jitter(a.Latency.Jitter)
			plan.latency += d
			ev.Detail = "delayed " + d.String()
		case a.RotateKeys != nil:
			stale := time.Duration(a.RotateKeys.StaleJWKS)
			plan.effects = append(plan.effects, func(ctx context.Context) { e.rotateKeys(ctx, rs.rule.Name, stale) })
			ev.Detail = "signing key rotated"
			if stale > 0 {
				ev.Detail += "; JWKS stale for " + stale.String()
			}
		case a.StaleJWKS != nil:
			d := time.Duration(a.StaleJWKS.For)
			plan.effects = append(plan.effects, func(context.Context) { e.cfg.Keys.StaleJWKS(d) })
			ev.Detail = "JWKS stale for " + d.String()
		default:
			plan.reply = &a
			ev.Detail = replyDetail(a)
		}
		e.record(rs, ev)
	}
	return plan
}

// shapesReply reports whether an HTTP action replaces the reply, as
// opposed to delaying it or acting on the keys.
func shapesReply(a Action) bool {
	return a.Latency == nil && a.RotateKeys == nil && a.StaleJWKS == nil
}

func (e *Engine) rotateKeys(ctx context.Context, rule string, stale time.Duration) {
	kid, err := e.cfg.Keys.RotateKeys(ctx, stale)
	if err != nil {
		e.log.Error("fault rotate_keys failed", "rule", rule, "err", err)
		return
	}
	e.log.Info("fault rotated signing key", "rule", rule, "kid", kid, "stale_jwks", stale)
}

func matchRequest(m Match, q request) bool {
	return (m.Operation == "" || m.Operation == q.op.OperationID) &&
		(m.Method == "" || strings.EqualFold(m.Method, q.op.Method)) &&
		(m.Path == "" || matchPath(m.Path, q.op.Path, q.path)) &&
		(m.Tenant == "" || m.Tenant == q.tenant) &&
		(m.ClientID == "" || m.ClientID == q.clientID)
}

// formClientID finds the client of a token request: HTTP Basic credentials
// (RFC 6749 §2.3.1, form-encoded user name) or the client_id form field.
// The body was already read and restored by request validation; it is
// restored again here.
func formClientID(r *http.Request) string {
	if user, _, ok := r.BasicAuth(); ok {
		if id, err := url.QueryUnescape(user); err == nil {
			return id
		}
		return user
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" || r.Body == nil || r.Body == http.NoBody {
		return ""
	}
	body, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return ""
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	return form.Get("client_id")
}

// sleep waits d on the sandbox clock, so advancing the virtual clock ends
// the wait at once. It reports false if the client went away first.
func (e *Engine) sleep(ctx context.Context, d time.Duration) bool {
	done := make(chan struct{})
	t := e.cfg.Clock.AfterFunc(d, func() { close(done) })
	select {
	case <-done:
		return true
	case <-ctx.Done():
		t.Stop()
		return false
	}
}

func replyDetail(a Action) string {
	switch {
	case a.Error != nil:
		return fmt.Sprintf("answered %d", a.Error.Status)
	case a.Reset != nil:
		return "connection reset" + processedNote(a.Reset.Processed)
	case a.EmptyReply != nil:
		return "connection closed without a reply" + processedNote(a.EmptyReply.Processed)
	case a.Truncate != nil:
		return "body truncated"
	case a.Malformed != nil:
		return "body malformed"
	case a.SlowDrip != nil:
		return "body dripped slowly"
	}
	return ""
}

func processedNote(processed bool) string {
	if processed {
		return " after serving the request"
	}
	return " before serving the request"
}
