package webhooks

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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
		{name: "credentials", url: "https://user:pw@integrator.example/h", wantErr: true},
		{name: "ftp", allowLocal: true, url: "ftp://integrator.example/h", wantErr: true},
		{name: "relative", allowLocal: true, url: "/hook", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := targetPolicy{allowLocal: tt.allowLocal}.validateURL(tt.url)
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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.plain {
				ctx = withPlainHTTP(ctx)
			}
			err := targetPolicy{allowLocal: tt.allowLocal}.checkAddr(ctx, tt.addr)
			if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, errForbiddenAddress)) {
				t.Errorf("checkAddr(%s) = %v, wantErr %v", tt.addr, err, tt.wantErr)
			}
		})
	}
}

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
