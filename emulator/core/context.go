package core

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

type ctxKey int

const (
	requestIDKey ctxKey = iota
	principalKey
	tenantLocaleKey
)

// FaultHeader names the fault rule that shaped a response or an issued
// token; the fault injector sets it.
const FaultHeader = "X-Sandbox-Fault"

// requestState is the context of a request served by the Router: the
// request ID and, once authenticated, the principal. One value answers
// both keys, so the router copies the request (r.WithContext) once instead
// of once per key. The router fills the principal before the handler runs
// and never changes it afterwards; an unset field defers to the parent
// context, as a missing context.WithValue layer would.
type requestState struct {
	context.Context
	id        string
	principal *Principal
	// errors is the routed operation's error writer, for the panic
	// recovery in Router.ServeHTTP.
	errors ErrorWriter
	// op is the routed operation, body the request body the router
	// buffered, errCode the code of an error answer and w the writer
	// that observes the answer (when requests are recorded or logged).
	op      *OperationInfo
	body    []byte
	errCode string
	w       statusWriter
	// tenantLocale is RouterConfig.TenantLocale, for Locale.
	tenantLocale func(tenant string) string
}

// Value answers the router's keys from the state and every other key from
// the parent.
func (s *requestState) Value(key any) any {
	switch key {
	case requestIDKey:
		return s.id
	case principalKey:
		if s.principal != nil {
			return s.principal
		}
	case tenantLocaleKey:
		if s.tenantLocale != nil {
			return s.tenantLocale
		}
	}
	return s.Context.Value(key)
}

// RequestIDFrom returns the request ID stored by the server middleware.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// PrincipalKind says what kind of credential authenticated a request.
type PrincipalKind string

// Principal kinds.
const (
	// KindAdmin is a tenant administrator (the fixture admin tokens).
	KindAdmin PrincipalKind = "admin"
	// KindApp is an app acting for itself (client credentials, service token).
	KindApp PrincipalKind = "app"
	// KindUser is an app acting for a signed-in user (authorization code).
	KindUser PrincipalKind = "user"
	// KindOperator is the sandbox operator (control plane).
	KindOperator PrincipalKind = "operator"
)

// Principal is who a request acts as, established by an Authenticator. The
// tenant always comes from the credential, never from the request.
type Principal struct {
	Kind     PrincipalKind
	Tenant   string
	Subject  string
	ClientID string
	UserID   string
	Scopes   []string
	TokenID  string
	Expires  time.Time
}

// HasScope reports whether the principal holds scope. Administrators hold
// every scope of their tenant.
func (p *Principal) HasScope(scope string) bool {
	if p == nil {
		return false
	}
	if p.Kind == KindAdmin || p.Kind == KindOperator {
		return true
	}
	for _, s := range p.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// WithPrincipal stores p in ctx.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey, p)
}

// PrincipalFrom returns the authenticated principal, or nil.
func PrincipalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey).(*Principal)
	return p
}

// BearerToken extracts an RFC 6750 §2.1 bearer token from the Authorization
// header. ok is false when the header is absent or not a bearer credential.
func BearerToken(r *http.Request) (token string, ok bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	token = strings.TrimSpace(h[7:])
	return token, token != ""
}

// Logger returns the logger to use for a request, tagged with its ID.
func Logger(ctx context.Context, base *slog.Logger) *slog.Logger {
	if id := RequestIDFrom(ctx); id != "" {
		return base.With("request_id", id)
	}
	return base
}
