package webhooks

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestValidateURL(t *testing.T) {
	tests := []struct {
		name       string
		allowLocal bool
		url        string
		wantErr    bool
	}{
		{name: "https public", url: "https://integrator.example/webhooks/argus"},
		{name: "http loopback allowed", allowLocal: true, url: "http://127.0.0.1:9000/hook"},
		{name: "http localhost allowed", allowLocal: true, url: "http://localhost:9000/hook"},
		{name: "http container name allowed", allowLocal: true, url: "http://receiver:8080/hook"},
		{name: "http private allowed", allowLocal: true, url: "http://10.1.2.3/hook"},
		{name: "http public refused", allowLocal: true, url: "http://integrator.example/hook", wantErr: true},
		{name: "http loopback, shared deployment", url: "http://127.0.0.1:9000/hook", wantErr: true},
		{name: "https loopback, shared deployment", url: "https://127.0.0.1/hook", wantErr: true},
		{name: "https localhost, shared deployment", url: "https://localhost/hook", wantErr: true},
		{name: "https metadata address", url: "https://169.254.169.254/latest", wantErr: true},
		{name: "http metadata address, local targets allowed", allowLocal: true, url: "http://169.254.169.254/latest/meta-data", wantErr: true},
		{name: "https metadata address, local targets allowed", allowLocal: true, url: "https://169.254.169.254/latest", wantErr: true},
		{name: "ipv6 link-local, local targets allowed", allowLocal: true, url: "http://[fe80::1]/hook", wantErr: true},
		{name: "mapped link-local, local targets allowed", allowLocal: true, url: "http://[::ffff:169.254.169.254]/hook", wantErr: true},
		{name: "unspecified, local targets allowed", allowLocal: true, url: "http://0.0.0.0:9000/hook", wantErr: true},
		{name: "this network, local targets allowed", allowLocal: true, url: "http://0.1.2.3/hook", wantErr: true},
		{name: "ipv6 unspecified, local targets allowed", allowLocal: true, url: "http://[::]:9000/hook", wantErr: true},
		{name: "multicast, local targets allowed", allowLocal: true, url: "http://224.0.0.1/hook", wantErr: true},
		{name: "broadcast, local targets allowed", allowLocal: true, url: "http://255.255.255.255/hook", wantErr: true},
		{name: "http cgnat allowed as private", allowLocal: true, url: "http://100.64.0.1:8080/hook"},
		{name: "ipv4-compatible loopback, shared deployment", url: "https://[::7f00:1]/hook", wantErr: true},
		{name: "nat64 loopback, shared deployment", url: "https://[64:ff9b::7f00:1]/hook", wantErr: true},
		{name: "nat64 public", url: "https://[64:ff9b::5db8:d822]/hook"},
		{name: "6to4 private, shared deployment", url: "https://[2002:c0a8:101::1]/hook", wantErr: true},
		{name: "teredo loopback client, shared deployment", url: "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook", wantErr: true},
		{name: "mapped loopback, shared deployment", url: "https://[::ffff:127.0.0.1]/hook", wantErr: true},
		{name: "this host's own address, shared deployment", url: "https://203.0.113.7/hook", wantErr: true},
		{name: "this host's own address, local targets allowed", allowLocal: true, url: "http://203.0.113.7:9000/hook"},
		{name: "nat64 metadata, local targets allowed", allowLocal: true, url: "http://[64:ff9b::a9fe:a9fe]/latest", wantErr: true},
		{name: "credentials", url: "https://user:pw@integrator.example/h", wantErr: true},
		{name: "ftp", allowLocal: true, url: "ftp://integrator.example/h", wantErr: true},
		{name: "relative", allowLocal: true, url: "/hook", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := testPolicy(tt.allowLocal).validateURL(tt.url)
			if (err != nil) != tt.wantErr {
				t.Errorf("validateURL(%q) = %v, wantErr %v", tt.url, err, tt.wantErr)
			}
		})
	}
}

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		name       string
		allowLocal bool
		plain      bool
		addr       string
		wantErr    bool
	}{
		{name: "public https", addr: "93.184.216.34:443"},
		{name: "loopback when allowed", allowLocal: true, plain: true, addr: "127.0.0.1:80"},
		{name: "loopback refused", addr: "127.0.0.1:443", wantErr: true},
		{name: "mapped loopback refused", addr: "[::ffff:127.0.0.1]:443", wantErr: true},
		{name: "ipv6 loopback refused", addr: "[::1]:443", wantErr: true},
		{name: "private refused", addr: "192.168.1.10:443", wantErr: true},
		{name: "cgnat refused", addr: "100.64.0.1:443", wantErr: true},
		{name: "link-local refused", addr: "169.254.169.254:80", wantErr: true},
		{name: "link-local refused with local targets allowed", allowLocal: true, plain: true, addr: "169.254.169.254:80", wantErr: true},
		{name: "ipv6 link-local refused with local targets allowed", allowLocal: true, plain: true, addr: "[fe80::1]:80", wantErr: true},
		{name: "unspecified refused with local targets allowed", allowLocal: true, plain: true, addr: "0.0.0.0:80", wantErr: true},
		{name: "ipv6 unspecified refused with local targets allowed", allowLocal: true, plain: true, addr: "[::]:80", wantErr: true},
		{name: "multicast refused with local targets allowed", allowLocal: true, plain: true, addr: "239.1.2.3:80", wantErr: true},
		{name: "cgnat allowed as private", allowLocal: true, plain: true, addr: "100.64.0.1:80"},
		{name: "private allowed", allowLocal: true, plain: true, addr: "192.168.1.10:80"},
		{name: "plain http to public refused", allowLocal: true, plain: true, addr: "93.184.216.34:80", wantErr: true},
		{name: "ipv4-compatible loopback refused", addr: "[::7f00:1]:443", wantErr: true},
		{name: "ipv4-translated loopback refused", addr: "[::ffff:0:7f00:1]:443", wantErr: true},
		{name: "nat64 loopback refused", addr: "[64:ff9b::7f00:1]:443", wantErr: true},
		{name: "nat64 private refused", addr: "[64:ff9b::a00:1]:443", wantErr: true},
		{name: "local-use nat64 refused", addr: "[64:ff9b:1::5db8:d822]:443", wantErr: true},
		{name: "nat64 public", addr: "[64:ff9b::5db8:d822]:443"},
		{name: "nat64 metadata refused with local targets allowed", allowLocal: true, plain: true, addr: "[64:ff9b::a9fe:a9fe]:80", wantErr: true},
		{name: "6to4 loopback refused", addr: "[2002:7f00:1::1]:443", wantErr: true},
		{name: "6to4 public", addr: "[2002:5db8:d822::1]:443"},
		{name: "teredo loopback client refused", addr: "[2001:0:4136:e378:8000:63bf:80ff:fffe]:443", wantErr: true},
		{name: "site-local refused", addr: "[fec0::1]:443", wantErr: true},
		{name: "this host's own address refused", addr: "203.0.113.7:443", wantErr: true},
		{name: "this host's own ipv6 address refused", addr: "[2001:db8::7]:443", wantErr: true},
		{name: "this host's own address, mapped, refused", addr: "[::ffff:203.0.113.7]:443", wantErr: true},
		{name: "this host's own address over plain http with local targets allowed", allowLocal: true, plain: true, addr: "203.0.113.7:80"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.plain {
				ctx = withPlainHTTP(ctx)
			}
			err := testPolicy(tt.allowLocal).checkAddr(ctx, tt.addr)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, errForbiddenAddress)) {
				t.Errorf("checkAddr(%s) = %v, wantErr %v", tt.addr, err, tt.wantErr)
			}
		})
	}
}

// testPolicy is a target policy on a host whose interfaces carry, besides
// loopback, the public addresses 203.0.113.7 and 2001:db8::7.
func testPolicy(allowLocal bool) targetPolicy {
	return newTargetPolicy(allowLocal, func() ([]net.Addr, error) {
		var out []net.Addr
		for _, cidr := range []string{"127.0.0.1/8", "::1/128", "203.0.113.7/24", "2001:db8::7/64", "fe80::1/64"} {
			ip, n, err := net.ParseCIDR(cidr)
			if err != nil {
				panic(err)
			}
			n.IP = ip
			out = append(out, n)
		}
		return out, nil
	})
}

// TestConnectFailuresAreAlikeWithoutLocalTargets: with local targets off
// (a shared deployment), a refused, unreachable or timed-out connection is
// reported in the same words, so deliveries cannot map which ports of a
// host are open; locally the difference helps and is kept. A name that
// does not resolve is still told apart.
func TestConnectFailuresAreAlikeWithoutLocalTargets(t *testing.T) {
	dial := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://integrator.example/hook", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	refused := dial(&os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED})
	unreachable := dial(&os.SyscallError{Syscall: "connect", Err: syscall.EHOSTUNREACH})
	timedOut := dial(timeoutError{})
	noName := dial(&net.DNSError{Err: "no such host", Name: "integrator.example", IsNotFound: true})
	shared := testPolicy(false)
	var first string
	for i, err := range []error{refused, unreachable, timedOut} {
		class, msg := shared.failure(err, false, time.Second)
		if class != ClassConnection || (i > 0 && msg != first) {
			t.Errorf("shared deployment: %v → %s %q, want connection_error %q like the others", err, class, msg, first)
		}
		first = msg
	}
	if class, _ := shared.failure(noName, false, time.Second); class != ClassDNS {
		t.Errorf("shared deployment: unresolvable name → %s, want dns", class)
	}
	if class, _ := testPolicy(true).failure(refused, false, time.Second); class != ClassConnectionRefused {
		t.Errorf("local targets allowed: refused → %s, want connection_refused", class)
	}
}

// timeoutError is a net.Error that timed out.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// TestTLSAndDNSFailuresAreClassified uses an https endpoint whose
// certificate the engine does not trust, and a name that cannot resolve.
func TestTLSAndDNSFailuresAreClassified(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	t.Cleanup(tlsSrv.Close)
	tests := []struct {
		name string
		url  string
		want ErrorClass
	}{
		{name: "untrusted certificate", url: tlsSrv.URL, want: ClassTLS},
		{name: "unresolvable name", url: "http://no-such-host.invalid/hook", want: ClassDNS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestService(t, func(c *Config) { c.AttemptTimeout = 5 * time.Second })
			w, err := s.store.CreateWebhook(context.Background(), Webhook{ID: "wh_x", Tenant: "acme", URL: tt.url, Events: []string{"case.created"}, Secret: newSecret(make([]byte, 24))})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = s.Trigger(context.Background(), "acme", "case.created", nil)
			waitIdle(t, s)
			d := onlyDelivery(t, s, w)
			if e := d.Attempts[0].Error; e == nil || e.Class != tt.want {
				t.Errorf("attempt error = %+v, want %s", e, tt.want)
			}
		})
	}
}
