package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Env is what a consumer needs to run against the sandbox. Exec passes it
// as the environment variables documented on Vars.
type Env struct {
	// Secret is the webhook signing secret (whsec_...).
	Secret string
	// BaseURL is the sandbox's base URL (token endpoint, GraphQL).
	BaseURL string
	// ClientID and ClientSecret are a client_credentials app of Tenant
	// with cases:read and cases:write, for calls back into the sandbox.
	ClientID     string
	ClientSecret string
	Tenant       string
	// StateDir is a directory that survives restarts within a run.
	StateDir string
	// Host is the address to listen on (127.0.0.1 unless the sandbox
	// reaches the consumer elsewhere).
	Host string
	// CallbackHost is the host of the consumer's URL as the sandbox
	// reaches it (Host when ""); it is not passed to the consumer.
	CallbackHost string
}

// Vars returns env as environment variables, with the port to listen on.
func (e Env) Vars(port string) []string {
	return []string{
		"ARGUS_WEBHOOK_SECRET=" + e.Secret,
		"HOST=" + e.host(),
		"PORT=" + port,
		"ARGUS_BASE_URL=" + e.BaseURL,
		"ARGUS_CLIENT_ID=" + e.ClientID,
		"ARGUS_CLIENT_SECRET=" + e.ClientSecret,
		"ARGUS_TENANT=" + e.Tenant,
		"ARGUS_STATE_DIR=" + e.StateDir,
	}
}

func (e Env) host() string {
	if e.Host == "" {
		return "127.0.0.1"
	}
	return e.Host
}

// localHost is the host this process reaches the consumer at (its
// probe): the listen address, or loopback when that is every address.
func (e Env) localHost() string {
	if ip := net.ParseIP(e.host()); ip != nil && ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return e.host()
}

// callbackHost is the host of the URL the sandbox delivers to.
func (e Env) callbackHost() string {
	if e.CallbackHost == "" {
		return e.host()
	}
	return e.CallbackHost
}

// Default paths a consumer serves, documented in the README; Exec and
// InProcess use them when their paths are "".
const (
	DefaultWebhookPath = "/webhooks/argus"
	DefaultProbePath   = "/_conformance/probe"
)

// withDefault returns path, or def when path is "".
func withDefault(path, def string) string {
	if path == "" {
		return def
	}
	return path
}

// Endpoint is where a started consumer is reached.
type Endpoint struct {
	// URL receives the deliveries.
	URL string
	// ProbeURL serves the probe document ("" when there is none).
	ProbeURL string
}

// ErrRestartUnsupported is returned by Restart of a consumer the runner
// did not start; scenarios that need a restart are then unverified.
var ErrRestartUnsupported = errors.New("the consumer cannot be restarted by the runner (an Exec or InProcess consumer can)")

// Consumer is a webhook consumer under test: one already running (Target),
// a command the runner starts (Exec), or an in-process handler
// (InProcess).
type Consumer interface {
	// Start starts (or attaches to) the consumer.
	Start(ctx context.Context, env Env) (Endpoint, error)
	// CanRestart reports whether Restart is supported.
	CanRestart() bool
	// Restart stops the consumer and starts it again with the same
	// environment, URL and state directory.
	Restart(ctx context.Context) error
	// Stop stops what Start started.
	Stop() error
}

// Target is a consumer that is already running at URL; its secret must be
// the run's Config.Secret.
type Target struct {
	URL string
	// Probe is the probe URL, or a path ("/_conformance/probe") on URL's
	// host; "" means the consumer serves no probe.
	Probe string
}

var _ Consumer = (*Target)(nil)

// Start returns the configured endpoint.
func (t *Target) Start(context.Context, Env) (Endpoint, error) {
	ep := Endpoint{URL: t.URL, ProbeURL: t.Probe}
	if strings.HasPrefix(t.Probe, "/") {
		u, err := url.Parse(t.URL)
		if err != nil {
			return Endpoint{}, fmt.Errorf("target URL %q: %w", t.URL, err)
		}
		ep.ProbeURL = u.Scheme + "://" + u.Host + t.Probe
	}
	return ep, nil
}

// CanRestart is false: the runner does not control the process.
func (t *Target) CanRestart() bool { return false }

// Restart is not supported.
func (t *Target) Restart(context.Context) error { return ErrRestartUnsupported }

// Stop does nothing.
func (t *Target) Stop() error { return nil }

// SecretRotator is a consumer the runner can hand a new signing secret, at
// the end of a rotation: it restarts the consumer (as Restart does) with
// ARGUS_WEBHOOK_SECRET set to secret, and keeps that secret for later
// restarts. Exec and InProcess implement it.
type SecretRotator interface {
	RestartWithSecret(ctx context.Context, secret string) error
}

// InProcess runs a consumer handler in this process on a port of Env.Host,
// for tests. Restart closes the handler and builds a new one from the same
// Env (so in-memory state is lost, as in a process restart), keeping the
// listener so the webhook URL stays the same. A request the old handler
// was still serving gets no answer (its connection is dropped), as from a
// process that was killed.
type InProcess struct {
	// New builds the consumer; the closer is called on restart and stop.
	New func(env Env) (http.Handler, io.Closer, error)
	// WebhookPath and ProbePath are the paths it serves
	// (DefaultWebhookPath and DefaultProbePath when ""); NoProbe says it
	// serves no probe.
	WebhookPath string
	ProbePath   string
	NoProbe     bool

	mu      sync.Mutex
	env     Env
	handler atomic.Pointer[http.Handler]
	closer  io.Closer
	srv     *http.Server
}

var (
	_ Consumer      = (*InProcess)(nil)
	_ SecretRotator = (*InProcess)(nil)
	_ SecretRotator = (*Exec)(nil)
)

// Start listens on a loopback port and serves the handler.
func (p *InProcess) Start(_ context.Context, env Env) (Endpoint, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.env = env
	if err := p.buildLocked(); err != nil {
		return Endpoint{}, err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(env.host(), "0"))
	if err != nil {
		return Endpoint{}, err
	}
	p.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := p.handler.Load()
		cw := &crashWriter{ResponseWriter: w, alive: func() bool { return p.handler.Load() == h }}
		(*h).ServeHTTP(cw, r)
		if cw.dropped {
			panic(http.ErrAbortHandler) // the connection closes without an answer
		}
	})}
	go func() { _ = p.srv.Serve(ln) }()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ep := Endpoint{URL: "http://" + net.JoinHostPort(env.callbackHost(), port) + withDefault(p.WebhookPath, DefaultWebhookPath)}
	if !p.NoProbe {
		ep.ProbeURL = "http://" + net.JoinHostPort(env.localHost(), port) + withDefault(p.ProbePath, DefaultProbePath)
	}
	return ep, nil
}

func (p *InProcess) buildLocked() error {
	h, c, err := p.New(p.env)
	if err != nil {
		return err
	}
	p.handler.Store(&h)
	p.closer = c
	return nil
}

// CanRestart is true.
func (p *InProcess) CanRestart() bool { return true }

// Restart replaces the handler by a fresh one.
func (p *InProcess) Restart(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Down first, so nothing the old handler writes from now on is sent,
	// and a request arriving meanwhile finds no one.
	p.handler.Store(&down)
	if p.closer != nil {
		_ = p.closer.Close()
	}
	return p.buildLocked()
}

// RestartWithSecret restarts with another signing secret.
func (p *InProcess) RestartWithSecret(ctx context.Context, secret string) error {
	p.mu.Lock()
	p.env.Secret = secret
	p.mu.Unlock()
	return p.Restart(ctx)
}

// down is the handler of a consumer that is not running.
var down http.Handler = http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })

// crashWriter drops what a replaced handler writes: its process is gone.
type crashWriter struct {
	http.ResponseWriter
	alive   func() bool
	dropped bool
}

func (w *crashWriter) WriteHeader(code int) {
	if w.dropped = w.dropped || !w.alive(); !w.dropped {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *crashWriter) Write(b []byte) (int, error) {
	if w.dropped = w.dropped || !w.alive(); w.dropped {
		return 0, http.ErrAbortHandler
	}
	return w.ResponseWriter.Write(b)
}

// Stop shuts the server down and closes the handler.
func (p *InProcess) Stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var err error
	if p.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = p.srv.Shutdown(ctx)
	}
	if p.closer != nil {
		err = errors.Join(err, p.closer.Close())
	}
	return err
}
