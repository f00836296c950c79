package platform

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
)

// policy decides what a tenant approves without review. It is built once
// per tenant from the fixtures.
type policy struct {
	scopes        map[string]bool
	grantTypes    map[string]bool
	redirects     []*regexp.Regexp
	publicClients bool
}

func newPolicy(p fixtures.Policy) (*policy, error) {
	out := &policy{scopes: map[string]bool{}, grantTypes: map[string]bool{}, publicClients: p.PublicClients}
	for _, s := range p.ApprovedScopes {
		out.scopes[s] = true
	}
	for _, g := range p.GrantTypes {
		out.grantTypes[g] = true
	}
	for _, pat := range p.RedirectURIPatterns {
		re, err := redirectPattern(pat)
		if err != nil {
			return nil, err
		}
		out.redirects = append(out.redirects, re)
	}
	return out, nil
}

// redirectPattern compiles a policy pattern: "*" matches within one host
// label in the authority and any run of characters in the path. A loopback
// host accepts any port (RFC 8252 §7.3).
func redirectPattern(pat string) (*regexp.Regexp, error) {
	u, err := url.Parse(strings.ReplaceAll(pat, "*", "STAR"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("redirect URI pattern %q is not an absolute URI", pat)
	}
	host := regexp.QuoteMeta(u.Hostname())
	host = strings.ReplaceAll(host, "STAR", "[^./:]+")
	port := ""
	if isLoopbackHost(u.Hostname()) {
		port = `(:[0-9]{1,5})?`
	} else if u.Port() != "" {
		port = ":" + regexp.QuoteMeta(u.Port())
	}
	path := regexp.QuoteMeta(u.EscapedPath())
	path = strings.ReplaceAll(path, "STAR", ".*")
	return regexp.Compile("^" + regexp.QuoteMeta(u.Scheme) + "://" + host + port + path + `(\?.*)?$`)
}

func (p *policy) redirectAllowed(uri string) bool {
	for _, re := range p.redirects {
		if re.MatchString(uri) {
			return true
		}
	}
	return false
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// checkRedirectURI enforces the registration rules of RFC 6749 §3.1.2 and
// RFC 9700 §4.1: absolute, no fragment, https unless loopback.
func checkRedirectURI(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "":
		return "must be an absolute URI"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not contain a fragment"
	case u.User != nil:
		return "must not contain user information"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return ""
	case u.Scheme == "http":
		return "http is allowed only for localhost and loopback addresses; use https"
	default:
		return "scheme must be https (or http for loopback)"
	}
}

// errInvalidScope and friends are the platform's wire errors.
func errInvalidScope(field, scope string) *core.Problem {
	return core.NewProblem(http.StatusBadRequest, "invalid_scope", "Invalid scope",
		fmt.Sprintf("scope %q is not in the scope catalog", scope)).WithField(field, "unknown scope")
}

func errReviewRequired(field string, sc *fixtures.Scope) *core.Problem {
	p := core.NewProblem(http.StatusForbidden, "review_required", "Reviewed access required",
		fmt.Sprintf("scope %q is partner-only; request the capability %q through reviewed access first", sc.Name, sc.Capability)).
		WithField(field, "partner-only scope")
	p.Extra = map[string]any{"access_request_url": "/v1/platform/access-requests", "capability": sc.Capability}
	return p
}

// authMethodNone is RFC 7591 §2's token_endpoint_auth_method of a public
// client: it has no secret and authenticates nothing at the token
// endpoint but its client_id, which PKCE makes safe.
const authMethodNone = "none"

// checkPublicClient applies the rules of a public client's registration:
// the tenant's policy must allow public clients, and only the
// authorization code grant (with refresh_token) is open to it, since a
// client without a secret cannot authenticate client_credentials.
func (s *Service) checkPublicClient(tenant string, grants []string) *core.Problem {
	const field = "/token_endpoint_auth_method"
	if !s.policy(tenant).publicClients {
		return core.NewProblem(http.StatusForbidden, "public_clients_not_allowed", "Public clients not allowed",
			"the tenant's policy does not allow public clients (token_endpoint_auth_method none); register a confidential client").WithField(field, "not allowed by the tenant's policy")
	}
	if !slices.Contains(grants, "authorization_code") || slices.ContainsFunc(grants, func(g string) bool { return g != "authorization_code" && g != "refresh_token" }) {
		return errInvalid(field, "a public client may use only authorization_code (and refresh_token)")
	}
	return nil
}

func errInvalid(field, reason string) *core.Problem {
	return core.NewProblem(http.StatusBadRequest, "invalid_request", "Invalid request", field+": "+reason).WithField(field, reason)
}

// scopeItems evaluates requested scopes against the catalog, the tenant's
// policy and its unlocked capabilities (see unlockedCapabilities: it reads
// the store, so it is computed before any store update closure runs).
// prev keeps earlier decisions.
func (s *Service) scopeItems(tenant string, unlocked map[string]bool, requested []string, prev []Item) ([]Item, *core.Problem) {
	pol := s.policy(tenant)
	var out []Item
	for i, name := range requested {
		field := fmt.Sprintf("/requested_scopes/%d", i)
		sc, ok := s.fx.Scope(name)
		if !ok {
			return nil, errInvalidScope(field, name)
		}
		if st, ok := itemStatus(prev, name); ok {
			out = append(out, Item{Value: name, Status: st})
			continue
		}
		switch {
		case !sc.Published():
			if !unlocked[sc.Capability] {
				return nil, errReviewRequired(field, sc)
			}
			out = append(out, Item{Value: name, Status: Approved})
		case pol.scopes[name]:
			out = append(out, Item{Value: name, Status: Approved})
		default:
			out = append(out, Item{Value: name, Status: Pending})
		}
	}
	return out, nil
}

func (s *Service) grantItems(tenant string, grants []string) ([]Item, *core.Problem) {
	pol := s.policy(tenant)
	if slices.Contains(grants, "refresh_token") && !slices.Contains(grants, "authorization_code") {
		return nil, errInvalid("/grant_types", "refresh_token is only issued with authorization_code")
	}
	var out []Item
	for _, g := range grants {
		st := Pending
		if pol.grantTypes[g] {
			st = Approved
		}
		out = append(out, Item{Value: g, Status: st})
	}
	return out, nil
}

func (s *Service) redirectItems(tenant string, uris []string, prev []Item) ([]Item, *core.Problem) {
	pol := s.policy(tenant)
	var out []Item
	for i, u := range uris {
		if reason := checkRedirectURI(u); reason != "" {
			return nil, errInvalid(fmt.Sprintf("/redirect_uris/%d", i), reason)
		}
		if st, ok := itemStatus(prev, u); ok {
			out = append(out, Item{Value: u, Status: st})
			continue
		}
		st := Pending
		if pol.redirectAllowed(u) {
			st = Approved
		}
		out = append(out, Item{Value: u, Status: st})
	}
	return out, nil
}

func itemStatus(items []Item, v string) (string, bool) {
	for _, it := range items {
		if it.Value == v {
			return it.Status, true
		}
	}
	return "", false
}

func values(items []Item, status string) []string {
	out := []string{}
	for _, it := range items {
		if it.Status == status {
			out = append(out, it.Value)
		}
	}
	return out
}

// decide applies approve/deny decisions to pending items. Deciding an item
// that is not pending is a conflict.
func decide(items []Item, vals []string, status, field string) *core.Problem {
	for _, v := range vals {
		found := false
		for i := range items {
			if items[i].Value != v {
				continue
			}
			found = true
			if items[i].Status != Pending {
				return core.NewProblem(http.StatusConflict, "not_pending", "Not pending",
					fmt.Sprintf("%s %q is already %s", field, v, items[i].Status)).WithField(field, "not pending")
			}
			items[i].Status = status
		}
		if !found {
			return errInvalid(field, fmt.Sprintf("%q was not requested by this app", v))
		}
	}
	return nil
}

// policyCache keeps each tenant's compiled policy, rebuilt when the
// tenant's policy differs from the one it was built from (a tenant deleted
// and created again under its id).
type policyCache struct {
	mu sync.Mutex
	m  map[string]cachedPolicy
}

type cachedPolicy struct {
	src fixtures.Policy
	pol *policy
}

// policy returns the tenant's compiled policy; an unknown tenant (or one
// whose patterns do not compile) approves nothing.
func (s *Service) policy(tenant string) *policy {
	empty := &policy{scopes: map[string]bool{}, grantTypes: map[string]bool{}}
	t, ok := s.tenants.Tenant(tenant)
	if !ok {
		return empty
	}
	c := &s.policies
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[tenant]; ok && samePolicy(e.src, t.Policy) {
		return e.pol
	}
	pol, err := newPolicy(t.Policy)
	if err != nil {
		s.log.Error("platform: a tenant's policy does not compile", "tenant", tenant, "err", err)
		return empty
	}
	if c.m == nil {
		c.m = map[string]cachedPolicy{}
	}
	c.m[tenant] = cachedPolicy{src: t.Policy, pol: pol}
	return pol
}

func samePolicy(a, b fixtures.Policy) bool {
	return a.PublicClients == b.PublicClients && slices.Equal(a.ApprovedScopes, b.ApprovedScopes) &&
		slices.Equal(a.GrantTypes, b.GrantTypes) && slices.Equal(a.RedirectURIPatterns, b.RedirectURIPatterns)
}
