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
	local := isLocal(ap.Addr())
	plain, _ := ctx.Value(plainHTTPKey{}).(bool)
	switch {
	case neverDelivered(ap.Addr()):
		return fmt.Errorf("%w: %s is link-local, multicast, broadcast or unspecified and is never delivered to", errForbiddenAddress, ap.Addr())
	case local && !p.allowLocal:
		return fmt.Errorf("%w: %s is loopback, private or reserved and local targets are not allowed", errForbiddenAddress, ap.Addr())
	case plain && !local:
		return fmt.Errorf("%w: plain http is only delivered to loopback and private addresses, not %s", errForbiddenAddress, ap.Addr())
	}
	return nil
}

var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	broadcast = netip.MustParseAddr("255.255.255.255")
)

// isLocal reports the addresses a local development setup delivers to:
// loopback, private (RFC 1918, RFC 4193) and CGNAT (RFC 6598, counted as
// private: container and VPN networks such as Tailscale use it). They are
// reachable only while local targets are allowed.
func isLocal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || cgnat.Contains(a)
}

// neverDelivered reports addresses no webhook reaches, whatever the
// local-targets setting: link-local (169.254.0.0/16, fe80::/10, home of
// cloud metadata services), multicast, broadcast and unspecified
// (0.0.0.0/8, ::), which are no endpoint anyone can mean.
func neverDelivered(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsMulticast() || a.IsInterfaceLocalMulticast() ||
		a.IsUnspecified() || thisNet.Contains(a) || a == broadcast
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
	if ipErr == nil && neverDelivered(addr) {
		return errors.New("targets a link-local, multicast, broadcast or unspecified address, which is never delivered to")
	}
	literalLocal := ipErr == nil && isLocal(addr)
	localName := host == "localhost" || strings.HasSuffix(host, ".localhost") || strings.HasSuffix(host, ".internal") ||
		strings.HasSuffix(host, ".local") || (ipErr != nil && !strings.Contains(host, "."))
	switch u.Scheme {
	case "https":
		if !p.allowLocal && (literalLocal || localName) {
			return errors.New("targets a loopback, private or internal host, which this sandbox does not deliver to")
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
