package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
)

// operatorToken is the test sandboxes' operator token.
const operatorToken = "op_console_test_token"

// env is a sandbox served on a loopback port, with a client of its API.
type env struct {
	t   testing.TB
	srv *httptest.Server
	api *client.Client
}

// newEnv starts a sandbox; mod adjusts its config.
func newEnv(t testing.TB, mod func(*emulator.Config)) *env {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	cfg := emulator.Config{Issuer: "http://" + srv.Listener.Addr().String(), OperatorToken: operatorToken, Seed: 7,
		CheckResponse: func(r *http.Request, op string, err error) {
			t.Errorf("response of %s does not match the spec: %v", op, err)
		}}
	if mod != nil {
		mod(&cfg)
	}
	sb, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = sb.Handler()
	srv.Start()
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return &env{t: t, srv: srv, api: client.New(srv.URL, client.WithOperatorToken(cfg.OperatorToken),
		client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}))}
}

// url is the address of a console path (relative to the prefix).
func (e *env) url(path string) string { return e.srv.URL + "/_sandbox/console/" + path }

// browser is a cookie-keeping client that does not follow redirects, so
// tests see each answer.
type browser struct {
	t    testing.TB
	e    *env
	http *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer with its body.
type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, hdr http.Header) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.e.url(path), body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do(http.MethodGet, path, nil, nil) }

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	return b.do(http.MethodPost, path, form, nil)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of a page's forms.
func csrf(t testing.TB, p page) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF field on the page:\n%s", p.body)
	}
	return m[1]
}

// signIn signs the browser in with token and returns the session's CSRF
// token.
func (b *browser) signIn(token string) string {
	b.t.Helper()
	form := b.get("signin")
	p := b.post("signin", url.Values{"csrf": {csrf(b.t, form)}, "token": {token}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/_sandbox/console/" {
		b.t.Fatalf("sign-in: %d %s\n%s", p.status, p.header.Get("Location"), p.body)
	}
	return csrf(b.t, b.get(""))
}

// receiver is a webhook endpoint that answers the statuses given in turn
// (the last one from then on) and counts requests.
type receiver struct {
	*httptest.Server
	hits atomic.Int64
}

func newReceiver(t testing.TB, statuses ...int) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(rc.hits.Add(1))
		st := statuses[min(n, len(statuses))-1]
		w.WriteHeader(st)
		_, _ = io.WriteString(w, `{"received":true}`)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// waitIdle waits until the sandbox has no delivery work in progress.
func (e *env) waitIdle() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.api.Sandbox().WaitIdle(ctx); err != nil {
		e.t.Fatal(err)
	}
}
