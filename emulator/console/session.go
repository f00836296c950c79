package console

import (
	"crypto/subtle"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Cookie names. The session cookie is HttpOnly, SameSite=Strict and
// scoped to the console's path; Secure when the request came over TLS.
const (
	sessionCookie = "argus_console"
	signInCookie  = "argus_console_signin"
)

// principal is who a session acts as. Operator sessions see every tenant;
// a session scoped to one tenant (Tenant set, Operator false) sees only
// that one, which is the shape a tenant control token signs in as.
type principal struct {
	Operator bool
	Tenant   string
}

// allows reports whether the principal may act for tenant.
func (p principal) allows(tenant string) bool { return p.Operator || p.Tenant == tenant }

// session is one sign-in, kept on the server; the browser holds only its
// random id.
type session struct {
	id   string
	csrf string
	// bearer is the control-plane token the sign-in was accepted with
	// ("" on an open sandbox): the console's control-plane calls carry it,
	// so the API, not the console, decides what the session may do.
	bearer  string
	who     principal
	expires time.Time
}

// sessions is the bounded, expiring session table.
type sessions struct {
	now    func() time.Time
	random io.Reader
	ttl    time.Duration
	max    int

	mu   sync.Mutex
	byID map[string]*session
}

func newSessions(now func() time.Time, random io.Reader, ttl time.Duration, max int) *sessions {
	return &sessions{now: now, random: random, ttl: ttl, max: max, byID: make(map[string]*session)}
}

// token returns 32 random bytes, URL-safe.
func (s *sessions) token() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(s.random, b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// create starts a session; when the table is full it drops the expired
// sessions, then the one closest to expiry.
func (s *sessions) create(bearer string, who principal) (*session, error) {
	id, err := s.token()
	if err != nil {
		return nil, err
	}
	csrf, err := s.token()
	if err != nil {
		return nil, err
	}
	now := s.now()
	sess := &session{id: id, csrf: csrf, bearer: bearer, who: who, expires: now.Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= s.max {
		var oldest *session
		for k, v := range s.byID {
			if !now.Before(v.expires) {
				delete(s.byID, k)
				continue
			}
			if oldest == nil || v.expires.Before(oldest.expires) {
				oldest = v
			}
		}
		if len(s.byID) >= s.max && oldest != nil {
			delete(s.byID, oldest.id)
		}
	}
	s.byID[id] = sess
	return sess, nil
}

// get returns the live session of id.
func (s *sessions) get(id string) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	if !s.now().Before(sess.expires) {
		delete(s.byID, id)
		return nil, false
	}
	return sess, true
}

// drop ends a session.
func (s *sessions) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

// session returns the request's live session.
func (c *Console) session(r *http.Request) (*session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, false
	}
	return c.sessions.get(ck.Value)
}

// setCookie writes a console cookie: HttpOnly, SameSite=Strict, on the
// console's path only, Secure over TLS. maxAge < 0 deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

// sameOrigin refuses a POST whose Origin header names another site
// (browsers send it on every cross-origin POST). A request without one,
// or with "null" (what browsers send from a page whose Referrer-Policy is
// no-referrer, as the console's is), passes: the CSRF token still has to
// match.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// page guards a GET page: without a session it sends the browser to the
// sign-in page.
func (c *Console) page(h func(w http.ResponseWriter, r *http.Request, s *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		if !ok {
			http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
			return
		}
		h(w, r, s)
	})
}

// maxForm bounds a form body: the largest is an event payload.
const maxForm = 64 << 10

// post guards an action: a session, the same origin and the session's
// CSRF token in the form, else 403 and nothing happens.
func (c *Console) post(h func(w http.ResponseWriter, r *http.Request, s *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := c.session(r)
		if !ok {
			c.fail(w, r, nil, http.StatusForbidden, "Your session has ended: sign in again.")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			c.fail(w, r, s, http.StatusBadRequest, "The form could not be read: "+err.Error())
			return
		}
		if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(s.csrf)) != 1 {
			c.fail(w, r, s, http.StatusForbidden, "The form was refused (its CSRF token does not match this session): reload the page and try again.")
			return
		}
		h(w, r, s)
	})
}

// signInPage shows the sign-in form with a fresh sign-in token, kept in a
// short-lived cookie and echoed by the form (double submit), so another
// site cannot sign a browser in to a session of its choosing.
func (c *Console) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.session(r); ok {
		http.Redirect(w, r, Prefix, http.StatusSeeOther)
		return
	}
	c.renderSignIn(w, r, http.StatusOK, "")
}

func (c *Console) renderSignIn(w http.ResponseWriter, r *http.Request, status int, msg string) {
	tok, err := c.sessions.token()
	if err != nil {
		http.Error(w, "no randomness for a sign-in token", http.StatusInternalServerError)
		return
	}
	setCookie(w, r, signInCookie, tok, 600)
	c.render(w, r, status, "signin", view{Title: "Sign in", CSRF: tok, Error: msg, Open: c.cfg.Open})
}

// signIn checks the token by asking the control plane with it; on success
// a session starts and the sign-in token is spent.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.renderSignIn(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	ck, err := r.Cookie(signInCookie)
	if err != nil || !sameOrigin(r) || ck.Value == "" ||
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(ck.Value)) != 1 {
		c.renderSignIn(w, r, http.StatusForbidden, "The sign-in form expired or came from another site: try again.")
		return
	}
	bearer := r.PostForm.Get("token")
	if !c.cfg.Open && bearer == "" {
		c.renderSignIn(w, r, http.StatusUnauthorized, "Enter the operator token.")
		return
	}
	if _, err := c.api(r, bearer, "").Sandbox().Clock(r.Context()); err != nil {
		c.cfg.Logger.Info("console sign-in refused", "err", err)
		c.renderSignIn(w, r, http.StatusUnauthorized, "The sandbox refused this token.")
		return
	}
	s, err := c.sessions.create(bearer, principal{Operator: true})
	if err != nil {
		http.Error(w, "no randomness for a session", http.StatusInternalServerError)
		return
	}
	setCookie(w, r, signInCookie, "", -1)
	setCookie(w, r, sessionCookie, s.id, int(c.cfg.SessionTTL/time.Second))
	http.Redirect(w, r, Prefix, http.StatusSeeOther)
}

// signOut ends the session.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.drop(s.id)
	c.relays.end(s.id)
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}
