package oauth

import (
	"net"
	"net/url"
)

// redirectAllowed reports whether uri exactly matches a registered redirect
// URI (RFC 9700 §4.1.3: no pattern matching), except that a loopback URI
// may use any port (RFC 8252 §7.3): native apps listen on an ephemeral one.
func redirectAllowed(registered []string, uri string) bool {
	u, err := url.Parse(uri)
	if err != nil || !u.IsAbs() || u.Fragment != "" || u.User != nil {
		return false
	}
	for _, reg := range registered {
		if reg == uri || loopbackMatch(reg, u) {
			return true
		}
	}
	return false
}

func loopbackMatch(registered string, u *url.URL) bool {
	r, err := url.Parse(registered)
	if err != nil || r.Scheme != "http" || u.Scheme != "http" {
		return false
	}
	if !isLoopback(r.Hostname()) || r.Hostname() != u.Hostname() {
		return false
	}
	return r.EscapedPath() == u.EscapedPath() && r.RawQuery == u.RawQuery
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withParams appends authorization response parameters to a redirect URI,
// keeping the query it already has (RFC 6749 §3.1.2).
func withParams(redirect string, params url.Values) string {
	u, err := url.Parse(redirect)
	if err != nil {
		return redirect // validated before; unreachable
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			if v != "" {
				q.Add(k, v)
			}
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
