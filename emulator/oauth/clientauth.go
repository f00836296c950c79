// Client authentication at the token, revocation and introspection
// endpoints (RFC 6749 §2.3.1), and the form body those requests carry
// (§3.2).

package oauth

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// form is a parsed form-encoded request body.
type form url.Values

func (f form) get(name string) string { return url.Values(f).Get(name) }

func (f form) has(name string) bool { return url.Values(f).Has(name) }

// multiValued lists the parameters RFC 8707 §2 allows more than once.
var multiValued = map[string]bool{"resource": true}

// readForm parses the body of a token, revocation or introspection
// request. RFC 6749 §3.2 and §2.3.1 forbid parameters in the query string
// (credentials there end up in logs) and parameters sent twice.
func readForm(r *http.Request) (form, *Error) {
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		if q.Has("client_secret") {
			return nil, newError(CodeInvalidRequest, "client_secret must never be sent in the query string (RFC 6749 §2.3.1)")
		}
		return nil, newError(CodeInvalidRequest, "parameters are accepted only in the application/x-www-form-urlencoded body, not in the query string")
	}
	// The router leaves a form body it has parsed in r.PostForm.
	vals := r.PostForm
	if vals == nil {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, newError(CodeInvalidRequest, "the request body could not be read")
		}
		if vals, err = url.ParseQuery(string(body)); err != nil {
			return nil, newError(CodeInvalidRequest, "the body is not valid application/x-www-form-urlencoded")
		}
	}
	for k, vs := range vals {
		if len(vs) > 1 && !multiValued[k] {
			return nil, newError(CodeInvalidRequest, "parameter %s is included more than once (RFC 6749 §3.2)", k)
		}
	}
	return form(vals), nil
}

// authenticateClient authenticates the client of a token, revocation or
// introspection request by client_secret_basic or client_secret_post
// (RFC 6749 §2.3.1). A request with a client_id and no credentials is
// accepted only from a public client, and only when allowPublic (the
// token endpoint, where PKCE stands in for the secret).
func (s *Service) authenticateClient(ctx context.Context, r *http.Request, f form, allowPublic bool) (Client, *Error) {
	var id, secret string
	header := r.Header.Get("Authorization")
	switch {
	case header != "":
		scheme, cred, _ := strings.Cut(header, " ")
		if !strings.EqualFold(scheme, "basic") {
			return Client{}, errInvalidClient("the Authorization header must use the Basic scheme (client_secret_basic)")
		}
		var ok bool
		if id, secret, ok = parseBasic(strings.TrimSpace(cred)); !ok {
			return Client{}, errInvalidClient("the Basic credentials are malformed")
		}
		if f.has("client_secret") {
			return Client{}, newError(CodeInvalidRequest, "the client used more than one authentication method (RFC 6749 §2.3)")
		}
		if f.has("client_id") && f.get("client_id") != id {
			return Client{}, newError(CodeInvalidRequest, "client_id in the body differs from the client authenticated by the Authorization header")
		}
	case f.has("client_secret"):
		id, secret = f.get("client_id"), f.get("client_secret")
		if id == "" {
			return Client{}, errInvalidClient("client_secret was sent without client_id")
		}
	case f.has("client_id"):
		return s.publicClient(ctx, f.get("client_id"), allowPublic)
	default:
		return Client{}, errInvalidClient("client authentication is required (client_secret_basic or client_secret_post)")
	}
	c, ok, err := s.clients.Authenticate(ctx, id, secret)
	if err != nil && !errors.Is(err, ErrUnknownClient) {
		return Client{}, errServer(err)
	}
	if err != nil || !ok {
		// Same answer as an unknown client: no client_id enumeration.
		return Client{}, errInvalidClient("unknown client or wrong secret")
	}
	return c, nil
}

// publicClient authenticates a request that sent only its client_id
// (RFC 6749 §2.3: a public client's "none"), which only a public client
// may do, and only at the token endpoint.
func (s *Service) publicClient(ctx context.Context, id string, allowPublic bool) (Client, *Error) {
	const confidential = "client authentication is required: this app is a confidential client; send its secret by client_secret_basic or client_secret_post"
	c, err := s.clients.LookupClient(ctx, id)
	switch {
	case errors.Is(err, ErrUnknownClient):
		// The same answer as a confidential client's: no enumeration.
		return Client{}, errInvalidClient(confidential)
	case err != nil:
		return Client{}, errServer(err)
	case !c.Public:
		return Client{}, errInvalidClient(confidential)
	case !allowPublic:
		return Client{}, errInvalidClient("a public client cannot authenticate here: revocation and introspection need a confidential client")
	}
	return c, nil
}

// parseBasic decodes client_secret_basic credentials; RFC 6749 §2.3.1
// form-encodes the id and secret before base64.
func parseBasic(cred string) (id, secret string, ok bool) {
	raw, err := base64.StdEncoding.DecodeString(cred)
	if err != nil {
		return "", "", false
	}
	rawID, rawSecret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if id, err = url.QueryUnescape(rawID); err != nil || id == "" {
		return "", "", false
	}
	if secret, err = url.QueryUnescape(rawSecret); err != nil {
		return "", "", false
	}
	return id, secret, true
}
