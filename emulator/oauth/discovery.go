// Authorization server metadata (RFC 8414 §2, §3), the same document as
// OpenID Connect Discovery 1.0, and the JWK Set of the signing keys
// (RFC 7517 §5).

package oauth

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// metadata is the authorization server metadata of RFC 8414 §2, which is
// also the OpenID Connect Discovery 1.0 §3 document: both paths serve it
// alike. It advertises exactly what the sandbox does (see
// TestMetadataConformsToTheSpecs).
type metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	UserInfoEndpoint                  string   `json:"userinfo_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethods          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods     []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionEndpointAuthMethods  []string `json:"introspection_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	AuthorizationResponseISSSupported bool     `json:"authorization_response_iss_parameter_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	AccessTokenSigningAlgValues       []string `json:"access_token_signing_alg_values_supported"`
	// RequestURIParameterSupported defaults to true in OpenID Connect
	// Discovery §3: the sandbox supports no request_uri, so it says so.
	RequestURIParameterSupported bool   `json:"request_uri_parameter_supported"`
	ResourceIndicatorsSupported  bool   `json:"resource_indicators_supported"`
	ServiceDocumentation         string `json:"service_documentation,omitempty"`
}

func (s *Service) metadata() metadata {
	var scopes []string
	for _, sc := range s.cfg.Fixtures.Scopes {
		if sc.Published() {
			scopes = append(scopes, sc.Name)
		}
	}
	auth := []string{"client_secret_basic", "client_secret_post"}
	return metadata{
		Issuer:                 s.issuer,
		AuthorizationEndpoint:  s.issuer + authorizePath,
		TokenEndpoint:          s.issuer + "/v1/oauth/token",
		UserInfoEndpoint:       s.issuer + "/v1/oauth/userinfo",
		JWKSURI:                s.issuer + "/.well-known/jwks.json",
		RevocationEndpoint:     s.issuer + "/v1/oauth/revoke",
		IntrospectionEndpoint:  s.issuer + "/v1/oauth/introspect",
		ScopesSupported:        append(slices.Clone(OIDCScopes), scopes...),
		ClaimsSupported:        s.claimsSupported(),
		ResponseTypesSupported: []string{"code"},
		ResponseModesSupported: []string{"query"},
		GrantTypesSupported:    []string{GrantAuthorizationCode, GrantClientCredentials, GrantRefreshToken},
		// "none" is a public client's (RFC 7591 §2), at the token endpoint
		// only: revocation and introspection need a confidential client.
		TokenEndpointAuthMethods:          append(slices.Clone(auth), "none"),
		RevocationEndpointAuthMethods:     auth,
		IntrospectionEndpointAuthMethods:  auth,
		CodeChallengeMethodsSupported:     []string{challengeMethodS256},
		AuthorizationResponseISSSupported: true,
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{IDTokenSigningAlg},
		AccessTokenSigningAlgValues:       []string{string(s.keys.alg)},
		ResourceIndicatorsSupported:       true,
	}
}

// claimsSupported lists the claims of ID tokens and userinfo: the standard
// ones and every custom claim a user of any tenant carries (Config.
// ClaimNames; the fixture users' without it).
func (s *Service) claimsSupported() []string {
	out := slices.Clone(standardClaims)
	if s.cfg.ClaimNames != nil {
		return append(out, s.cfg.ClaimNames()...)
	}
	var custom []string
	for _, t := range s.cfg.Fixtures.Tenants {
		for _, u := range t.Users {
			for name := range u.Claims {
				if !slices.Contains(custom, name) {
					custom = append(custom, name)
				}
			}
		}
	}
	slices.Sort(custom)
	return append(out, custom...)
}

// handleASMetadata is GET /.well-known/oauth-authorization-server (RFC
// 8414 §3).
func (s *Service) handleASMetadata(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	core.WriteJSON(w, http.StatusOK, s.metadata())
}

// handleOpenIDConfiguration is GET /.well-known/openid-configuration
// (OpenID Connect Discovery 1.0 §4): the same document.
func (s *Service) handleOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	s.handleASMetadata(w, r)
}

// handleJWKS is GET /.well-known/jwks.json (RFC 7517 §5): public keys only.
// The short cache lifetime keeps a rotation visible quickly; clients are
// expected to refetch on an unknown kid anyway.
func (s *Service) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	doc := s.keys.document()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(doc)))
	h.Set("Cache-Control", "public, max-age=60")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
}
