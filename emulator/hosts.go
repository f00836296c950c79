package emulator

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// A sandbox on loopback trusts local callers, and a browser is one: a web
// page whose DNS name the attacker re-points at 127.0.0.1 (DNS rebinding)
// reaches the listener from the browser with the page's own name in the
// Host header. Answering only the Host values that name the sandbox closes
// that path; an IP literal or localhost cannot be rebound.

// hostAllowlist is a parsed Config.AllowedHosts.
type hostAllowlist struct {
	any bool
	// keys are "host" (any port) or "host:port", lower-case, IPs in
	// their canonical form.
	keys map[string]bool
}

// CheckAllowedHosts reports every entry of hosts that Config.AllowedHosts
// would refuse, so a command can report it with its other flag problems.
func CheckAllowedHosts(hosts []string) error {
	_, err := parseAllowedHosts(hosts)
	return err
}

// parseAllowedHosts parses the entries: "*", a host name or IP (any port),
// or host:port ([::1]:8080 for IPv6). It returns nil for an empty list.
func parseAllowedHosts(hosts []string) (*hostAllowlist, error) {
	if len(hosts) == 0 {
		return nil, nil
	}
	l := &hostAllowlist{keys: make(map[string]bool, len(hosts))}
	var errs []error
	for _, entry := range hosts {
		entry = strings.TrimSpace(entry)
		if entry == "*" {
			l.any = true
			continue
		}
		host, port, ok := splitHost(entry)
		if !ok {
			errs = append(errs, fmt.Errorf("allowed host %q: want a host name, an IP address or host:port, without scheme or path", entry))
			continue
		}
		l.keys[hostKey(host, port)] = true
	}
	return l, errors.Join(errs...)
}

// check is the router's AllowHost: nil when every host is answered.
func (l *hostAllowlist) check() func(host string) bool {
	if l == nil || l.any {
		return nil
	}
	return l.allows
}

// allows reports whether a request's Host header names the sandbox. A
// header without a port names port 80 (RFC 9110 §7.2: the scheme's
// default; TLS is terminated in front of the sandbox if anywhere).
func (l *hostAllowlist) allows(header string) bool {
	if l.any {
		return true
	}
	host, port, ok := splitHost(header)
	if !ok {
		return false
	}
	if port == "" {
		port = "80"
	}
	return l.keys[host] || l.keys[hostKey(host, port)]
}

func hostKey(host, port string) string {
	if port == "" {
		return host
	}
	return net.JoinHostPort(host, port)
}

// splitHost parses "host", "host:port", "[v6]" or "[v6]:port" into a
// lower-case host (an IP in canonical form, a trailing dot dropped) and a
// port without leading zeros ("" when absent).
func splitHost(s string) (host, port string, ok bool) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = s, ""
		if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
			host = host[1 : len(host)-1]
			if _, err := netip.ParseAddr(host); err != nil {
				return "", "", false
			}
		}
	} else {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '+' {
			return "", "", false
		}
		port = strconv.Itoa(n)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return "", "", false
		}
		return ip.Unmap().String(), port, true
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "" || len(host) > 253 {
		return "", "", false
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", "", false
		}
	}
	return host, port, true
}
