package core

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// opSecurity is an operation's security requirements resolved once, when
// the router is built: each alternative with its schemes' authenticators,
// so a request looks nothing up by name.
type opSecurity struct {
	alts []secAlternative
	// anonymous is set when one alternative is empty ({}): a request
	// without a token is let through unauthenticated.
	anonymous bool
}

// secAlternative is one security requirement object: every scheme must
// accept the token and hold its scopes. An empty one means anonymous.
type secAlternative []secScheme

type secScheme struct {
	name   string
	auth   Authenticator
	scopes []string
}

// compileSecurity resolves reqs against the API's authenticators. Schemes
// of one alternative are kept in name order, so which scopes an
// insufficient_scope answer lists does not depend on map iteration.
func (rt *Router) compileSecurity(api API, reqs openapi3.SecurityRequirements) opSecurity {
	var sec opSecurity
	for _, req := range reqs {
		alt := make(secAlternative, 0, len(req))
		for name, scopes := range req {
			alt = append(alt, secScheme{name: name, auth: rt.authenticator(api, name), scopes: scopes})
		}
		slices.SortFunc(alt, func(a, b secScheme) int { return strings.Compare(a.name, b.name) })
		if len(alt) == 0 {
			sec.anonymous = true
		}
		sec.alts = append(sec.alts, alt)
	}
	return sec
}

// authenticate applies the operation's security requirements (OpenAPI
// 3.0 §4.8.30: alternatives are OR-ed). It returns the principal of the
// first alternative that accepts the token and holds its scopes.
func (sec opSecurity) authenticate(ctx context.Context, r *http.Request) (*Principal, *RequestError) {
	// RFC 6750 §2.3 allows access_token in the query; the contract does not.
	if r.URL.RawQuery != "" && r.URL.Query().Has("access_token") {
		return nil, &RequestError{Status: http.StatusBadRequest, Code: "invalid_request",
			Detail: "bearer tokens are accepted only in the Authorization header, never in the query string",
			Fields: []FieldError{{Field: "query.access_token", Reason: "not accepted"}},
			Header: http.Header{"WWW-Authenticate": {`Bearer realm="argus", error="invalid_request", error_description="token in query string"`}}}
	}
	token, ok := BearerToken(r)
	if !ok {
		if sec.anonymous {
			return nil, nil
		}
		return nil, &RequestError{Status: http.StatusUnauthorized, Code: "unauthorized",
			Detail: "this operation requires a bearer token in the Authorization header",
			Fields: []FieldError{{Field: "header.Authorization", Reason: "missing bearer token"}},
			Header: http.Header{"WWW-Authenticate": {`Bearer realm="argus"`}}}
	}
	var missing []string
	var authenticated bool
	// Each scheme authenticates the token once, however many alternatives
	// name it; operations name one or two schemes.
	type result struct {
		scheme string
		p      *Principal
	}
	var triedBuf [4]result
	tried := triedBuf[:0]
	for _, alt := range sec.alts {
		if len(alt) == 0 {
			continue
		}
		var principal *Principal
		okReq := true
		for _, s := range alt {
			i := slices.IndexFunc(tried, func(t result) bool { return t.scheme == s.name })
			if i < 0 {
				p, err := s.auth.Authenticate(ctx, token)
				if err != nil {
					p = nil
				}
				tried = append(tried, result{s.name, p})
				i = len(tried) - 1
			}
			p := tried[i].p
			if p == nil {
				okReq = false
				break
			}
			authenticated = true
			for _, sc := range s.scopes {
				if !p.HasScope(sc) {
					okReq = false
					missing = append(missing, sc)
				}
			}
			principal = p
		}
		if okReq && principal != nil {
			return principal, nil
		}
	}
	if authenticated {
		scope := strings.Join(missing, " ")
		return nil, &RequestError{Status: http.StatusForbidden, Code: "insufficient_scope", Scope: scope,
			Detail: "the token is valid but lacks the scope this operation requires: " + scope,
			Header: http.Header{"WWW-Authenticate": {fmt.Sprintf(`Bearer realm="argus", error="insufficient_scope", scope=%q`, scope)}}}
	}
	return nil, &RequestError{Status: http.StatusUnauthorized, Code: "invalid_token",
		Detail: "the bearer token is malformed, expired, revoked, or not issued by this sandbox",
		Header: http.Header{"WWW-Authenticate": {`Bearer realm="argus", error="invalid_token", error_description="the access token is invalid"`}}}
}
