package oauth

import (
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

const (
	sessionCookie = "argus_sandbox_session"
	sessionTTL    = 12 * time.Hour
)

// session is a browser signed in as a fixture user.
type session struct {
	tenant, userID string
	expires        time.Time
}

// pages renders the authorization endpoint's HTML and keeps its browser
// state: pending authorization requests and sign-in sessions, each timed
// on the clock of its tenant (the app's).
type pages struct {
	clockOf func(tenant string) core.Clock
	ids     *core.IDs

	mu       sync.Mutex
	requests map[string]*authzRequest
	sessions map[string]session
}

func newPages(clockOf func(tenant string) core.Clock, ids *core.IDs) *pages {
	p := &pages{clockOf: clockOf, ids: ids}
	p.reset()
	return p
}

func (p *pages) reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.requests = map[string]*authzRequest{}
	p.sessions = map[string]session{}
}

// prune forgets what expired before now, which is no later than any
// tenant's clock.
func (p *pages) prune(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, r := range p.requests {
		if now.After(r.Expires) {
			delete(p.requests, k)
		}
	}
	for k, s := range p.sessions {
		if now.After(s.expires) {
			delete(p.sessions, k)
		}
	}
}

func (p *pages) putPending(ar *authzRequest) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cp := *ar
	p.requests[ar.ID] = &cp
}

func (p *pages) pending(id string) (*authzRequest, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ar, ok := p.requests[id]
	if !ok || p.clockOf(ar.Client.Tenant).Now().After(ar.Expires) {
		return nil, false
	}
	cp := *ar
	return &cp, true
}

// takePending removes the request: a consent form is answered once.
func (p *pages) takePending(id string) (*authzRequest, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ar, ok := p.requests[id]
	delete(p.requests, id)
	if !ok || p.clockOf(ar.Client.Tenant).Now().After(ar.Expires) {
		return nil, false
	}
	return ar, true
}

func (p *pages) startSession(w http.ResponseWriter, tenant, userID string) {
	id := p.ids.Token("sess", 16)
	p.mu.Lock()
	p.sessions[id] = session{tenant: tenant, userID: userID, expires: p.clockOf(tenant).Now().Add(sessionTTL)}
	p.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: authorizePath,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL.Seconds())})
}

func (p *pages) session(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.sessions[c.Value]
	if !ok || p.clockOf(s.tenant).Now().After(s.expires) {
		return session{}, false
	}
	return s, true
}

// signInView is the data of the sign-in page.
type signInView struct {
	Request, AppName, Tenant string
	Users                    []userView
}

type userView struct{ ID, Name, Email, Role string }

// consentView is the data of the consent page.
type consentView struct {
	Request, AppName, UserName, RedirectHost string
	Scopes                                   []scopeView
}

type scopeView struct{ Name, Description string }

func (s *Service) signInView(ar *authzRequest) signInView {
	v := signInView{Request: ar.ID, AppName: ar.Client.Name, Tenant: ar.Client.Tenant}
	if t, ok := s.cfg.Tenants.Tenant(ar.Client.Tenant); ok {
		v.Tenant = t.Name
		for _, u := range t.Users {
			v.Users = append(v.Users, userView{ID: u.ID, Name: u.Name, Email: u.Email, Role: u.Role})
		}
	}
	return v
}

func (s *Service) consentView(ar *authzRequest) consentView {
	v := consentView{Request: ar.ID, AppName: ar.Client.Name, UserName: ar.UserID, RedirectHost: ar.RedirectURI}
	if u, ok := s.tenantUser(ar.Client.Tenant, ar.UserID); ok {
		v.UserName = u.Name
	}
	for _, sc := range ar.Scopes {
		sv := scopeView{Name: sc}
		if def, ok := s.cfg.Fixtures.Scope(sc); ok {
			sv.Description = def.Description
		}
		v.Scopes = append(v.Scopes, sv)
	}
	return v
}

const pageHead = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{block "title" .}}{{end}} · Argus sandbox</title>
<style>body{font:16px system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}button{font:inherit;margin:.25rem 0;padding:.5rem 1rem}li{margin:.5rem 0}.note{color:#555;font-size:.9em}</style></head><body>`

var (
	signInTmpl = template.Must(template.New("signin").Parse(pageHead + `{{define "title"}}Sign in{{end}}
<h1>Sign in to Argus</h1>
<p>{{if .AppName}}<strong>{{.AppName}}</strong>{{else}}An app{{end}} asks you to sign in to {{.Tenant}}.</p>
<form method="post" action="/v1/oauth/authorize/sign-in"><input type="hidden" name="request" value="{{.Request}}">
<ul>{{range .Users}}<li><button type="submit" name="user" value="{{.ID}}">{{.Name}}</button> <span class="note">{{.Email}} · {{.Role}}</span></li>{{end}}</ul></form>
<p class="note">Sandbox: pick a fixture user; no password is needed. Headless tests can pass login_hint instead.</p></body></html>`))
	consentTmpl = template.Must(template.New("consent").Parse(pageHead + `{{define "title"}}Authorize{{end}}
<h1>Authorize {{if .AppName}}{{.AppName}}{{else}}this app{{end}}</h1>
<p>Signed in as <strong>{{.UserName}}</strong>. The app asks for:</p>
<ul>{{range .Scopes}}<li><code>{{.Name}}</code> — {{.Description}}</li>{{else}}<li>no scopes</li>{{end}}</ul>
<p class="note">You will be sent back to {{.RedirectHost}}.</p>
<form method="post" action="/v1/oauth/authorize/consent"><input type="hidden" name="request" value="{{.Request}}">
<button type="submit" name="decision" value="approve">Approve</button> <button type="submit" name="decision" value="deny">Deny</button></form></body></html>`))
	errorTmpl = template.Must(template.New("error").Parse(pageHead + `{{define "title"}}Authorization error{{end}}
<h1>Authorization error</h1><p><code>{{.Code}}</code>: {{.Description}}</p>
<p class="note">The app's redirect URI was not used because the request could not be trusted.</p></body></html>`))
)

func (p *pages) render(w http.ResponseWriter, status int, t *template.Template, data any) {
	var sb strings.Builder
	if err := t.Execute(&sb, data); err != nil {
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	noStore(h)
	// The pages hold a consent button: never let another site frame them.
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(sb.String()))
}

func (p *pages) signInPage(w http.ResponseWriter, v signInView) {
	p.render(w, http.StatusOK, signInTmpl, v)
}

func (p *pages) consentPage(w http.ResponseWriter, v consentView) {
	p.render(w, http.StatusOK, consentTmpl, v)
}

func (p *pages) errorPage(w http.ResponseWriter, status int, code, desc string) {
	p.render(w, status, errorTmpl, struct{ Code, Description string }{code, desc})
}
