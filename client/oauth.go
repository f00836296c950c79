package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// OAuthAPI is the token service (specs/oauth.yaml). Clients authenticate
// with client_secret_basic (RFC 6749 §2.3.1); refusals are *Error values
// whose Code is the RFC 6749 §5.2 error.
type OAuthAPI struct{ c *Client }

// Credentials are an app's client credentials. A public client's have no
// ClientSecret: its requests carry the client_id alone (RFC 6749 §2.3),
// which the sandbox accepts at the token endpoint only, with PKCE.
type Credentials struct {
	ClientID     string
	ClientSecret string
}

// authenticated adds the client's authentication to a request to the
// token service: client_secret_basic (RFC 6749 §2.3.1), or a public
// client's client_id in the form.
func (creds Credentials) authenticated(r call) call {
	if creds.ClientSecret == "" {
		r.form.Set("client_id", creds.ClientID)
		return r
	}
	r.basic = &creds
	return r
}

// TokenRequest is a token request (RFC 6749 §4.1.3, §4.4.2, §6) without
// the client's credentials.
type TokenRequest struct {
	// GrantType is client_credentials, authorization_code or
	// refresh_token.
	GrantType string
	// Scope is space-separated; "" grants every approved scope.
	Scope string
	// Code, RedirectURI and CodeVerifier redeem an authorization code
	// (RFC 7636 for the verifier).
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	// Resource are RFC 8707 resource indicators.
	Resource []string
}

func (r TokenRequest) form() url.Values {
	f := url.Values{"grant_type": {r.GrantType}}
	for k, v := range map[string]string{"scope": r.Scope, "code": r.Code, "redirect_uri": r.RedirectURI,
		"code_verifier": r.CodeVerifier, "refresh_token": r.RefreshToken} {
		if v != "" {
			f.Set(k, v)
		}
	}
	if len(r.Resource) > 0 {
		f["resource"] = r.Resource
	}
	return f
}

// Token is a token response (RFC 6749 §5.1).
type Token struct {
	// AccessToken is an RFC 9068 JWT.
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	// ExpiresIn is the lifetime in seconds.
	ExpiresIn int `json:"expires_in"`
	// Scope lists the granted scopes, space-separated.
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// IDToken is the OpenID Connect ID token (RS256), issued by the
	// authorization_code and refresh_token grants when openid was granted.
	IDToken string `json:"id_token,omitempty"`
}

// Introspection is an RFC 7662 introspection response.
type Introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	Iat       int64    `json:"iat,omitempty"`
	Nbf       int64    `json:"nbf,omitempty"`
	Sub       string   `json:"sub,omitempty"`
	Aud       Audience `json:"aud,omitempty"`
	Iss       string   `json:"iss,omitempty"`
	Jti       string   `json:"jti,omitempty"`
	Tenant    string   `json:"tenant,omitempty"`
}

// Audience is a JWT audience: one string or a list (RFC 7519 §4.1.3).
type Audience []string

// UnmarshalJSON reads a string or a list of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// JWKS is the key set tokens are verified with.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// JWK is a public JSON Web Key (RFC 7517 §4).
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// ServerMetadata is the authorization server's metadata (RFC 8414).
type ServerMetadata struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	UserInfoEndpoint      string   `json:"userinfo_endpoint,omitempty"`
	JWKSURI               string   `json:"jwks_uri"`
	RevocationEndpoint    string   `json:"revocation_endpoint,omitempty"`
	IntrospectionEndpoint string   `json:"introspection_endpoint,omitempty"`
	ScopesSupported       []string `json:"scopes_supported"`
	ClaimsSupported       []string `json:"claims_supported,omitempty"`
	// RequestURIParameterSupported is false in the sandbox, which fetches
	// no request objects; OpenID Connect Discovery §3 reads an absent
	// member as true, so the sandbox always sends it.
	RequestURIParameterSupported               bool     `json:"request_uri_parameter_supported,omitempty"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported,omitempty"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported,omitempty"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported,omitempty"`
	IntrospectionEndpointAuthMethodsSupported  []string `json:"introspection_endpoint_auth_methods_supported,omitempty"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported,omitempty"`
	SubjectTypesSupported                      []string `json:"subject_types_supported,omitempty"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported,omitempty"`
	AccessTokenSigningAlgValuesSupported       []string `json:"access_token_signing_alg_values_supported,omitempty"`
	ResourceIndicatorsSupported                bool     `json:"resource_indicators_supported,omitempty"`
}

// Token requests a token (POST /v1/oauth/token) as the client creds.
func (o OAuthAPI) Token(ctx context.Context, creds Credentials, r TokenRequest) (Token, error) {
	var out Token
	err := o.c.do(ctx, creds.authenticated(call{method: http.MethodPost, path: "/v1/oauth/token", form: r.form(),
		want: http.StatusOK, out: &out}))
	return out, err
}

// ClientCredentials gets an access token for the app itself (RFC 6749
// §4.4); no scopes means every approved scope.
func (o OAuthAPI) ClientCredentials(ctx context.Context, creds Credentials, scopes ...string) (Token, error) {
	return o.Token(ctx, creds, TokenRequest{GrantType: "client_credentials", Scope: strings.Join(scopes, " ")})
}

// ExchangeCode redeems an authorization code with its PKCE verifier (RFC
// 6749 §4.1.3, RFC 7636 §4.5).
func (o OAuthAPI) ExchangeCode(ctx context.Context, creds Credentials, code, redirectURI, verifier string) (Token, error) {
	return o.Token(ctx, creds, TokenRequest{GrantType: "authorization_code", Code: code, RedirectURI: redirectURI,
		CodeVerifier: verifier})
}

// Refresh exchanges a refresh token (RFC 6749 §6); the answer carries its
// successor, the old one stops working.
func (o OAuthAPI) Refresh(ctx context.Context, creds Credentials, refreshToken string) (Token, error) {
	return o.Token(ctx, creds, TokenRequest{GrantType: "refresh_token", RefreshToken: refreshToken})
}

// Revoke revokes an access or refresh token (RFC 7009); hint
// ("access_token", "refresh_token" or "") only orders the lookup.
func (o OAuthAPI) Revoke(ctx context.Context, creds Credentials, token, hint string) error {
	return o.c.do(ctx, creds.authenticated(call{method: http.MethodPost, path: "/v1/oauth/revoke", form: tokenForm(token, hint),
		want: http.StatusOK}))
}

// Introspect reports whether a token is active, and its claims (RFC 7662).
func (o OAuthAPI) Introspect(ctx context.Context, creds Credentials, token string) (Introspection, error) {
	var out Introspection
	err := o.c.do(ctx, creds.authenticated(call{method: http.MethodPost, path: "/v1/oauth/introspect", form: tokenForm(token, ""),
		want: http.StatusOK, out: &out}))
	return out, err
}

func tokenForm(token, hint string) url.Values {
	f := url.Values{"token": {token}}
	if hint != "" {
		f.Set("token_type_hint", hint)
	}
	return f
}

// JWKS reads the key set (GET /.well-known/jwks.json).
func (o OAuthAPI) JWKS(ctx context.Context) (JWKS, error) {
	var out JWKS
	err := o.c.do(ctx, call{method: http.MethodGet, path: "/.well-known/jwks.json", want: http.StatusOK, out: &out})
	return out, err
}

// Metadata reads the RFC 8414 metadata
// (GET /.well-known/oauth-authorization-server).
func (o OAuthAPI) Metadata(ctx context.Context) (ServerMetadata, error) {
	var out ServerMetadata
	err := o.c.do(ctx, call{method: http.MethodGet, path: "/.well-known/oauth-authorization-server", want: http.StatusOK, out: &out})
	return out, err
}
