// Package console is the sandbox's web console at /_sandbox/console/:
// server-rendered html/template pages, one stylesheet and a little plain
// JavaScript (the event form and the live stream), embedded in the binary, with no build
// step. An operator signs in once; the console then reads and acts through
// the sandbox's own HTTP API, in process, with package client: it holds no
// second implementation of any operation and reaches no surface.
package console

import (
	"crypto/rand"
	"embed"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Prefix is the path the console is mounted at.
const Prefix = "/_sandbox/console/"

// DefaultSessionTTL is how long a sign-in lasts.
const DefaultSessionTTL = 8 * time.Hour

// maxSessions bounds the sessions kept: a flood of sign-ins evicts the
// oldest instead of growing the heap.
const maxSessions = 1024

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Tenant is a tenant the console shows. A configured one (a fixture
// tenant) comes with the token of its administrator, with which the
// console calls the tenant APIs; one created at run time is listed from
// the control plane without it, and the console shows it read-only (its
// request journal and live stream).
type Tenant struct {
	ID         string
	Name       string
	AdminToken string
}

// ReadOnly reports that the console holds no admin token for the tenant:
// its apps, webhooks and events pages are not available.
func (t Tenant) ReadOnly() bool { return t.AdminToken == "" }

// Config configures the console.
type Config struct {
	// API is the sandbox's routed handler: every read and action of the
	// console is a request to it.
	API http.Handler
	// Tenants are the tenants shown first in the tenant picker, in order,
	// each with its admin token; tenants created at run time follow them,
	// read-only.
	Tenants []Tenant
	// Open is true when the control plane needs no operator token (a
	// loopback sandbox without one): sign-in is then a single button.
	Open bool
	// AllowHost, when set, is the sandbox's Host check (DNS rebinding):
	// a refused host is answered 421 before anything else.
	AllowHost func(host string) bool
	// Now is real time (sessions expire in real time, so moving the
	// sandbox clock does not sign anyone out); time.Now when nil.
	Now func() time.Time
	// Random is the source of session ids and CSRF tokens; crypto/rand
	// when nil. It must never be the sandbox's seeded stream: a
	// reproducible session id is a guessable one.
	Random io.Reader
	// SessionTTL is how long a sign-in lasts (DefaultSessionTTL when 0).
	SessionTTL time.Duration
	Logger     *slog.Logger
}

// Console serves the console pages.
type Console struct {
	cfg      Config
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions *sessions
	relays   *relays
	inproc   *http.Client
	static   http.Handler
}

var _ http.Handler = (*Console)(nil)

// New builds the console, checking every field of cfg.
func New(cfg Config) (*Console, error) {
	var errs []error
	if cfg.API == nil {
		errs = append(errs, errors.New("console: API is required"))
	}
	if len(cfg.Tenants) == 0 {
		errs = append(errs, errors.New("console: at least one tenant is required"))
	}
	for _, t := range cfg.Tenants {
		if t.ID == "" || t.AdminToken == "" {
			errs = append(errs, errors.New("console: every tenant needs an id and an admin token"))
			break
		}
	}
	if cfg.SessionTTL < 0 {
		errs = append(errs, errors.New("console: SessionTTL must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Random == nil {
		cfg.Random = rand.Reader
	}
	if cfg.SessionTTL == 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, _ := fs.Sub(staticFS, "static")
	c := &Console{
		cfg:      cfg,
		pages:    pages,
		sessions: newSessions(cfg.Now, cfg.Random, cfg.SessionTTL, maxSessions),
		relays:   &relays{open: make(map[string]*relay)},
		inproc:   &http.Client{Transport: handlerTransport{cfg.API}, CheckRedirect: noRedirects},
		static:   http.StripPrefix(Prefix+"static/", http.FileServerFS(static)),
	}
	c.mux = c.routes()
	return c, nil
}

// ServeHTTP answers a console request: the Host check first, then the
// security headers every answer carries, then the route.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.cfg.AllowHost != nil && !c.cfg.AllowHost(r.Host) {
		http.Error(w, "this sandbox does not answer for this host; add it to the allowed hosts (--allowed-hosts)", http.StatusMisdirectedRequest)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	c.mux.ServeHTTP(w, r)
}

// contentSecurityPolicy allows the console's own files only: no inline
// script or style, no framing, forms posting back to the console.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// routes binds every page and action. POST routes go through post, which
// checks the session and its CSRF token.
func (c *Console) routes() *http.ServeMux {
	m := http.NewServeMux()
	p := Prefix
	m.Handle("GET "+p+"static/", c.static)
	m.HandleFunc("GET "+p+"signin", c.signInPage)
	m.HandleFunc("POST "+p+"signin", c.signIn)
	m.Handle("POST "+p+"signout", c.post(c.signOut))

	m.Handle("GET "+p+"{$}", c.page(c.overview))
	m.Handle("GET "+p+"clock", c.page(c.clockPage))
	m.Handle("POST "+p+"clock", c.post(c.clockUpdate))
	m.Handle("GET "+p+"faults", c.page(c.faultsPage))
	m.Handle("POST "+p+"faults", c.post(c.faultAdd))
	m.Handle("POST "+p+"faults/{name}/delete", c.post(c.faultDelete))
	m.Handle("GET "+p+"requests", c.page(c.requestsPage))
	m.Handle("POST "+p+"requests/clear", c.post(c.requestsClear))
	m.HandleFunc("GET "+p+"stream", c.stream)

	m.Handle("GET "+p+"t/{tenant}/apps", c.page(c.appsPage))
	m.Handle("GET "+p+"t/{tenant}/webhooks", c.page(c.webhooksPage))
	m.Handle("POST "+p+"t/{tenant}/webhooks", c.post(c.webhookCreate))
	m.Handle("GET "+p+"t/{tenant}/webhooks/{webhook}", c.page(c.timelinePage))
	m.Handle("POST "+p+"t/{tenant}/webhooks/{webhook}/deliveries/{delivery}/redeliver", c.post(c.redeliver))
	m.Handle("POST "+p+"t/{tenant}/webhooks/{webhook}/recover", c.post(c.recover))
	m.Handle("GET "+p+"t/{tenant}/events", c.page(c.eventsPage))
	m.Handle("POST "+p+"t/{tenant}/events", c.post(c.eventTrigger))
	m.Handle(p, c.page(c.notFound))
	return m
}
