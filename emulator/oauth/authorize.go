// The authorization endpoint, RFC 6749 §4.1.1 and §4.1.2: it validates
// the request (with the PKCE challenge of RFC 7636 §4.3), signs the user
// in, asks for consent and redirects with a code or an error (§4.1.2.1).

package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
)

const (
	authorizePath = "/v1/oauth/authorize"
	// pendingTTL bounds how long the sign-in and consent pages stay valid.
	pendingTTL = 10 * time.Minute
)

// authzRequest is a validated authorization request (RFC 6749 §4.1.1)
// waiting for the user's sign-in and consent.
type authzRequest struct {
	ID          string
	Client      Client
	RedirectURI string
	State       string
	Scopes      []string
	Resources   []string
	Challenge   string
	Nonce       string
	UserID      string
	Expires     time.Time
}

// handleAuthorize is GET /v1/oauth/authorize. client_id and redirect_uri
// are checked first and their errors are shown to the user, never sent to
// an unregistered URI (RFC 6749 §4.1.2.1); later errors go back to the
// redirect URI with the state.
func (s *Service) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	for _, p := range []string{"client_id", "redirect_uri"} {
		if len(q[p]) > 1 {
			s.pages.errorPage(w, http.StatusBadRequest, CodeInvalidRequest, p+" is included more than once")
			return
		}
	}
	clientID, redirect := q.Get("client_id"), q.Get("redirect_uri")
	if clientID == "" {
		s.pages.errorPage(w, http.StatusBadRequest, CodeInvalidRequest, "client_id is required")
		return
	}
	c, err := s.clients.LookupClient(ctx, clientID)
	if errors.Is(err, ErrUnknownClient) {
		s.pages.errorPage(w, http.StatusBadRequest, CodeInvalidClient, "no app is registered with this client_id")
		return
	} else if err != nil {
		s.pages.errorPage(w, http.StatusInternalServerError, CodeServerError, err.Error())
		return
	}
	if redirect == "" {
		s.pages.errorPage(w, http.StatusBadRequest, CodeInvalidRequest, "redirect_uri is required")
		return
	}
	if !redirectAllowed(c.RedirectURIs, redirect) {
		s.pages.errorPage(w, http.StatusBadRequest, CodeInvalidRequest, "redirect_uri is not registered for this app; it must match a registered URI exactly (loopback URIs may vary only the port)")
		return
	}
	ar := &authzRequest{Client: c, RedirectURI: redirect, State: q.Get("state")}
	if e := s.validateAuthorize(q, ar); e != nil {
		s.redirectError(w, r, ar, e)
		return
	}
	if hint := q.Get("login_hint"); hint != "" {
		// Sandbox-only: sign the hinted user in and consent at once, so
		// headless tests can run the flow without a browser.
		u, ok := s.tenantUser(c.Tenant, hint)
		if !ok {
			s.redirectError(w, r, ar, newError(CodeInvalidRequest, "login_hint names no user of the app's tenant"))
			return
		}
		ar.UserID = u.ID
		s.redirectCode(w, r, ar, http.StatusFound)
		return
	}
	ar.ID, ar.Expires = s.ids.Token("authz", 16), s.clockOf(c.Tenant).Now().Add(pendingTTL)
	if sess, ok := s.pages.session(r); ok && sess.tenant == c.Tenant {
		ar.UserID = sess.userID
		s.pages.putPending(ar)
		s.pages.consentPage(w, s.consentView(ar))
		return
	}
	s.pages.putPending(ar)
	s.pages.signInPage(w, s.signInView(ar))
}

// validateAuthorize checks the parameters whose errors are redirected.
func (s *Service) validateAuthorize(q url.Values, ar *authzRequest) *Error {
	for k, vs := range q {
		if len(vs) > 1 && !multiValued[k] {
			return newError(CodeInvalidRequest, "parameter %s is included more than once (RFC 6749 §3.1)", k)
		}
	}
	switch rt := q.Get("response_type"); {
	case rt == "":
		return newError(CodeInvalidRequest, "response_type is required")
	case rt != "code":
		return newError(CodeUnsupportedResponseType, "only response_type=code is supported; the implicit grant is not")
	}
	if !slices.Contains(ar.Client.GrantTypes, GrantAuthorizationCode) {
		return newError(CodeUnauthorizedClient, "the app is not approved for the authorization_code grant")
	}
	f := form(q)
	scopes, e := resolveScopes(f, s.userGrantable(ar.Client))
	if e != nil {
		return e
	}
	ar.Scopes = scopes
	if ar.Resources, e = s.resolveResources(q["resource"], nil); e != nil {
		return e
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return newError(CodeInvalidRequest, "code_challenge_method was sent without code_challenge")
	case challenge == "":
	case method == "" || method == "plain":
		return newError(CodeInvalidRequest, "code_challenge_method must be S256; plain is refused (RFC 9700 §2.1.1)")
	case method != challengeMethodS256:
		return newError(CodeInvalidRequest, "code_challenge_method %q is not supported; use S256", method)
	case !validChallenge(challenge):
		return newError(CodeInvalidRequest, "code_challenge must be the 43-character base64url SHA-256 of the verifier")
	}
	switch {
	case challenge == "" && ar.Client.Public:
		return newError(CodeInvalidRequest, "code_challenge is required: a public client must use PKCE (RFC 9700 §2.1.1)")
	case challenge == "" && s.cfg.RequirePKCE:
		return newError(CodeInvalidRequest, "code_challenge is required: this sandbox runs with --require-pkce (OAuth 2.1 §4.1.1)")
	}
	ar.Challenge = challenge
	if ar.Nonce = q.Get("nonce"); len(ar.Nonce) > maxNonce {
		return newError(CodeInvalidRequest, "nonce is longer than %d characters", maxNonce)
	}
	return nil
}

// maxNonce bounds the nonce stored with a code and echoed in its ID token.
const maxNonce = 512

func (s *Service) tenantUser(tenant, idOrEmail string) (*fixtures.User, bool) {
	t, ok := s.cfg.Tenants.Tenant(tenant)
	if !ok {
		return nil, false
	}
	return t.User(idOrEmail)
}

// redirectError sends an authorization error to the validated redirect
// URI (RFC 6749 §4.1.2.1), with the issuer (RFC 9207).
func (s *Service) redirectError(w http.ResponseWriter, r *http.Request, ar *authzRequest, e *Error) {
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther // RFC 9700 §4.12: never 307 after a form
	}
	to := withParams(ar.RedirectURI, url.Values{"error": {e.Code}, "error_description": {e.Description}, "state": {ar.State}, "iss": {s.issuer}})
	noStore(w.Header())
	http.Redirect(w, r, to, status)
}

// redirectCode issues an authorization code for the signed-in user and
// sends it to the redirect URI (RFC 6749 §4.1.2).
func (s *Service) redirectCode(w http.ResponseWriter, r *http.Request, ar *authzRequest, status int) {
	code, err := s.issueCode(r.Context(), ar)
	if err != nil {
		core.Logger(r.Context(), s.log).Error("oauth: issue code", "err", err)
		s.redirectError(w, r, ar, errServer(err))
		return
	}
	noStore(w.Header())
	http.Redirect(w, r, withParams(ar.RedirectURI, url.Values{"code": {code}, "state": {ar.State}, "iss": {s.issuer}}), status)
}

func (s *Service) issueCode(ctx context.Context, ar *authzRequest) (string, error) {
	now := s.clockOf(ar.Client.Tenant).Now()
	code := s.ids.Token("ac", 32)
	err := s.store.CreateCode(ctx, AuthCode{
		Hash: hashSecret(code), ClientID: ar.Client.ClientID, Tenant: ar.Client.Tenant, UserID: ar.UserID,
		RedirectURI: ar.RedirectURI, Challenge: ar.Challenge, Scopes: ar.Scopes, Resources: ar.Resources,
		Nonce: ar.Nonce, AuthTime: now, Expires: now.Add(CodeTTL),
	})
	return code, err
}

// handleSignIn is POST /v1/oauth/authorize/sign-in: the user picked on
// the sign-in page becomes the session's user, then consent is asked.
func (s *Service) handleSignIn(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.pages.errorPage(w, http.StatusBadRequest, CodeInvalidRequest, "the form could not be read")
		return
	}
	ar, ok := s.pages.pending(r.PostForm.Get("request"))
	if !ok {
		s.pages.errorPage(w, http.StatusBadRequest, CodeInvalidRequest, "this sign-in request is unknown or expired; start the authorization again")
		return
	}
	u, ok := s.tenantUser(ar.Client.Tenant, r.PostForm.Get("user"))
	if !ok {
		s.pages.signInPage(w, s.signInView(ar))
		return
	}
	ar.UserID = u.ID
	s.pages.putPending(ar)
	s.pages.startSession(w, ar.Client.Tenant, u.ID)
	core.Logger(r.Context(), s.log).Info("oauth: user signed in", "tenant", ar.Client.Tenant, "user", u.ID)
	s.pages.consentPage(w, s.consentView(ar))
}

// handleConsent is POST /v1/oauth/authorize/consent: approve issues the
// code, deny answers access_denied (RFC 6749 §4.1.2.1).
func (s *Service) handleConsent(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.pages.errorPage(w, http.StatusBadRequest, CodeInvalidRequest, "the form could not be read")
		return
	}
	ar, ok := s.pages.takePending(r.PostForm.Get("request"))
	sess, signedIn := s.pages.session(r)
	// The pending request is bound to the session that signed in, so a
	// forged form post cannot consent for someone else.
	if !ok || ar.UserID == "" || !signedIn || sess.userID != ar.UserID {
		s.pages.errorPage(w, http.StatusBadRequest, CodeInvalidRequest, "this consent request is unknown, expired or belongs to another sign-in; start the authorization again")
		return
	}
	if strings.ToLower(r.PostForm.Get("decision")) != "approve" {
		s.redirectError(w, r, ar, newError(CodeAccessDenied, "the user denied the authorization request"))
		return
	}
	s.redirectCode(w, r, ar, http.StatusSeeOther)
}
