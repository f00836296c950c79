package webhooks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// errForbiddenAddress is returned at dial time for an address the sandbox
// does not deliver to.
var errForbiddenAddress = errors.New("forbidden target address")

// targetPolicy decides which addresses deliveries may reach. The check runs
// on the resolved address at dial time, so a DNS answer cannot smuggle in a
// forbidden address after the URL was accepted.
type targetPolicy struct {
	allowLocal bool
	// own is the host's interface addresses: local too, whatever their
	// range (a public address of this host reaches its own services).
	own *addrCache
}

// newTargetPolicy returns the policy; interfaces lists the host's
// interface addresses (net.InterfaceAddrs).
func newTargetPolicy(allowLocal bool, interfaces func() ([]net.Addr, error)) targetPolicy {
	return targetPolicy{allowLocal: allowLocal, own: &addrCache{list: interfaces, ttl: ownAddrsTTL}}
}

type plainHTTPKey struct{}

// withPlainHTTP marks a request context as carrying an http:// delivery,
// which may only reach loopback and private addresses.
func withPlainHTTP(ctx context.Context) context.Context {
	return context.WithValue(ctx, plainHTTPKey{}, true)
}

// checkAddr vets the address a connection is about to be made to.
func (p targetPolicy) checkAddr(ctx context.Context, address string) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", errForbiddenAddress, address)
	}
	a := ap.Addr()
	plain, _ := ctx.Value(plainHTTPKey{}).(bool)
	never, local := p.kind(a)
	switch {
	case never:
		return fmt.Errorf("%w: %s is link-local, multicast, broadcast or unspecified and is never delivered to", errForbiddenAddress, a)
	case local && !p.allowLocal:
		return fmt.Errorf("%w: %s is loopback, private, reserved or this host's own and local targets are not allowed", errForbiddenAddress, a)
	case plain && !local:
		return fmt.Errorf("%w: plain http is only delivered to loopback and private addresses, not %s", errForbiddenAddress, a)
	}
	return nil
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	broadcast = netip.MustParseAddr("255.255.255.255")
	siteLocal = netip.MustParsePrefix("fec0::/10") // deprecated (RFC 3879), still routed locally

	// IPv6 forms that carry an IPv4 address, which decides where they
	// lead: IPv4-compatible (RFC 4291, deprecated, ::a.b.c.d),
	// IPv4-translated (RFC 2765), NAT64 (RFC 6052), 6to4 (RFC 3056) and
	// Teredo (RFC 4380). IPv4-mapped addresses are unmapped first.
	v4Compatible  = netip.MustParsePrefix("::/96")
	v4Translated  = netip.MustParsePrefix("::ffff:0:0:0/96")
	nat64         = netip.MustParsePrefix("64:ff9b::/96")
	nat64LocalUse = netip.MustParsePrefix("64:ff9b:1::/48") // RFC 8215: local networks only
	sixToFour     = netip.MustParsePrefix("2002::/16")
	teredo        = netip.MustParsePrefix("2001::/32")
)

// kind reports whether a is never delivered to, and whether it is local:
// reachable only while local targets are allowed.
//
// Local are loopback, private (RFC 1918, RFC 4193, site-local), CGNAT
// (RFC 6598, counted as private: container and VPN networks such as
// Tailscale use it), the local-use NAT64 prefix, the host's own interface
// addresses, and IPv6 forms that embed such an IPv4 address.
//
// Never delivered to, whatever the local-targets setting: link-local
// (169.254.0.0/16, fe80::/10, home of cloud metadata services), multicast,
// broadcast and unspecified (0.0.0.0/8, ::), which are no endpoint anyone
// can mean, and IPv6 forms that embed one of them.
func (p targetPolicy) kind(a netip.Addr) (never, local bool) {
	a = a.Unmap().WithZone("")
	never = a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsUnspecified() || thisNet.Contains(a) || a == broadcast
	local = a.IsLoopback() || a.IsPrivate() || cgnat.Contains(a) || siteLocal.Contains(a) || nat64LocalUse.Contains(a) ||
		p.own.has(a)
	if never || local {
		return never, local
	}
	for _, v4 := range embeddedV4(a) {
		n, l := p.kind(v4)
		never, local = never || n, local || l
	}
	return never, local
}

// embeddedV4 returns the IPv4 addresses an IPv6 address a carries (see
// v4Compatible and the prefixes after it): for Teredo, the server and the
// client (stored inverted).
func embeddedV4(a netip.Addr) []netip.Addr {
	if !a.Is6() {
		return nil
	}
	b := a.As16()
	at := func(i int) netip.Addr { return netip.AddrFrom4([4]byte(b[i : i+4])) }
	switch {
	case v4Compatible.Contains(a), v4Translated.Contains(a), nat64.Contains(a):
		return []netip.Addr{at(12)}
	case sixToFour.Contains(a):
		return []netip.Addr{at(2)}
	case teredo.Contains(a):
		client := [4]byte{^b[12], ^b[13], ^b[14], ^b[15]}
		return []netip.Addr{at(4), netip.AddrFrom4(client)}
	}
	return nil
}

// ownAddrsTTL is how long the host's interface addresses are reused
// before they are listed again: interfaces change rarely, dials are many.
const ownAddrsTTL = 5 * time.Second

// addrCache holds the host's interface addresses, listed again after ttl.
type addrCache struct {
	list func() ([]net.Addr, error)
	ttl  time.Duration

	mu    sync.Mutex
	at    time.Time
	addrs map[netip.Addr]struct{}
}

// has reports whether a (unmapped, without zone) is an address of one of
// the host's interfaces. When they cannot be listed, the last list known
// is kept.
func (c *addrCache) has(a netip.Addr) bool {
	if c == nil || c.list == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.addrs == nil || time.Since(c.at) > c.ttl {
		if list, err := c.list(); err == nil || c.addrs == nil {
			addrs := make(map[netip.Addr]struct{}, len(list))
			for _, na := range list {
				if n, ok := na.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(n.IP); ok {
						addrs[ip.Unmap()] = struct{}{}
					}
				}
			}
			c.addrs = addrs
		}
		c.at = time.Now()
	}
	_, ok := c.addrs[a]
	return ok
}

// newHTTPClient builds the outbound client: no proxy (a proxy would bypass
// the address check), no redirects followed, bounded connection set-up.
// workers is the engine's worker pool size, the most attempts in flight
// at once (duplicate copies aside): that many connections to one host
// stay open for reuse, so a busy endpoint, or several endpoints on one
// host, keeps its keep-alive connections instead of closing and
// redialling them (which would leave sockets in TIME_WAIT by the
// thousand under load). MaxConnsPerHost stays unbounded: only the
// concurrent copies of a duplicate fault go beyond the worker count, and
// they must go out at once rather than wait for a connection.
func newHTTPClient(p targetPolicy, roots *x509.CertPool, workers int) *http.Client {
	dialer := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		ControlContext: func(ctx context.Context, _, address string, _ syscall.RawConn) error {
			return p.checkAddr(ctx, address)
		},
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConns:          max(256, workers),
		MaxIdleConnsPerHost:   workers,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		// Redirects are reported, never followed: a webhook URL that
		// redirects is a misconfiguration the integrator must see.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// validateURL checks a webhook URL when it is created or changed: https, or
// http for loopback and private hosts while local targets are allowed;
// never a link-local, multicast or unspecified address literal.
func (p targetPolicy) validateURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an absolute http(s) URL")
	}
	if u.User != nil {
		return errors.New("must not contain credentials")
	}
	if u.Fragment != "" {
		return errors.New("must not contain a fragment")
	}
	host := strings.ToLower(u.Hostname())
	addr, ipErr := netip.ParseAddr(host)
	var never, literalLocal bool
	if ipErr == nil {
		never, literalLocal = p.kind(addr)
	}
	if never {
		return errors.New("targets a link-local, multicast, broadcast or unspecified address, which is never delivered to")
	}
	localName := host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".internal") ||
		strings.HasSuffix(host, ".local") || (ipErr != nil && !strings.Contains(host, "."))
	switch u.Scheme {
	case "https":
		if !p.allowLocal && (literalLocal || localName) {
			return errors.New("targets a loopback, private or internal host, or this host itself, which this sandbox does not deliver to")
		}
	case "http":
		if !p.allowLocal {
			return errors.New("must use https")
		}
		if !literalLocal && !localName {
			return errors.New("must use https; plain http is accepted only for loopback and private hosts")
		}
	default:
		return errors.New("must use https")
	}
	return nil
}

// connectFailed is how an attempt whose connection could not be made is
// reported while local targets are off.
const connectFailed = "the connection could not be made"

// failure classifies a transport error and explains it for diagnostics.
// While local targets are off (a shared deployment), a connection refused,
// unreachable or timed out is reported alike: the difference would let
// webhooks map which ports of the hosts the sandbox reaches are open.
func (p targetPolicy) failure(err error, timedOut bool, timeout time.Duration) (ErrorClass, string) {
	class := classify(err, timedOut)
	var op *net.OpError
	if !p.allowLocal && errors.As(err, &op) && op.Op == "dial" &&
		(class == ClassConnectionRefused || class == ClassConnection || class == ClassTimeout) {
		return ClassConnection, connectFailed
	}
	return class, describe(class, err, timeout)
}

// classify turns a transport error into a diagnostics class.
func classify(err error, timedOut bool) ErrorClass {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var alert tls.AlertError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case timedOut || errors.Is(err, context.DeadlineExceeded) || isNetTimeout(err):
		return ClassTimeout
	case errors.Is(err, errForbiddenAddress):
		return ClassForbiddenAddress
	case errors.As(err, &dnsErr):
		return ClassDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassConnectionRefused
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alert),
		errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &invalid):
		return ClassTLS
	}
	return ClassConnection
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
