package oauth

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

// metadataRule is one rule of OpenID Connect Discovery 1.0 §3 or RFC 8414
// §2 about one member of the metadata.
type metadataRule struct {
	field string
	rule  string
	check func(m map[string]any, issuer string) bool
}

// discoveryRules are the REQUIRED and RECOMMENDED members of OpenID Connect
// Discovery 1.0 §3 and RFC 8414 §2, with the constraints the specifications
// put on their values, checked independently of the code that writes them.
// The sandbox has no dynamic registration, so registration_endpoint
// (RECOMMENDED in Discovery §3) is the one absent on purpose.
var discoveryRules = []metadataRule{
	{"issuer", "REQUIRED; https or loopback http URL without query or fragment (RFC 8414 §2), equal to the URL discovery used (Discovery §4.3)", func(m map[string]any, issuer string) bool {
		s, ok := m["issuer"].(string)
		u, err := url.Parse(s)
		return ok && s == issuer && err == nil && (u.Scheme == "https" || u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost")) && u.RawQuery == "" && u.Fragment == ""
	}},
	{"authorization_endpoint", "REQUIRED; absolute URL", absURL("authorization_endpoint")},
	{"token_endpoint", "REQUIRED unless only the implicit flow is used; absolute URL", absURL("token_endpoint")},
	{"userinfo_endpoint", "RECOMMENDED (Discovery §3); absolute URL", absURL("userinfo_endpoint")},
	{"jwks_uri", "REQUIRED (Discovery §3); absolute URL", absURL("jwks_uri")},
	{"scopes_supported", "RECOMMENDED; if present MUST include openid (Discovery §3)", func(m map[string]any, _ string) bool {
		return slices.Contains(strs(m, "scopes_supported"), "openid")
	}},
	{"response_types_supported", "REQUIRED; a dynamic OpenID provider MUST support code", func(m map[string]any, _ string) bool {
		return slices.Contains(strs(m, "response_types_supported"), "code")
	}},
	{"subject_types_supported", "REQUIRED; values pairwise or public", func(m map[string]any, _ string) bool {
		v := strs(m, "subject_types_supported")
		return len(v) > 0 && !slices.ContainsFunc(v, func(s string) bool { return s != "public" && s != "pairwise" })
	}},
	{"id_token_signing_alg_values_supported", "REQUIRED; RS256 MUST be included (Discovery §3)", func(m map[string]any, _ string) bool {
		return slices.Contains(strs(m, "id_token_signing_alg_values_supported"), "RS256")
	}},
	{"claims_supported", "RECOMMENDED; lists at least sub, iss, aud, exp, iat", func(m map[string]any, _ string) bool {
		v := strs(m, "claims_supported")
		return !slices.ContainsFunc([]string{"sub", "iss", "aud", "exp", "iat"}, func(c string) bool { return !slices.Contains(v, c) })
	}},
	{"grant_types_supported", "OPTIONAL; what the token endpoint supports", func(m map[string]any, _ string) bool {
		return slices.Equal(strs(m, "grant_types_supported"), []string{"authorization_code", "client_credentials", "refresh_token"})
	}},
	{"token_endpoint_auth_methods_supported", "OPTIONAL; known methods only", func(m map[string]any, _ string) bool {
		v := strs(m, "token_endpoint_auth_methods_supported")
		return len(v) > 0 && !slices.ContainsFunc(v, func(s string) bool {
			return !slices.Contains([]string{"client_secret_basic", "client_secret_post", "none"}, s)
		})
	}},
	{"code_challenge_methods_supported", "OPTIONAL (RFC 8414 §2); absent means no PKCE: S256 only, never plain", func(m map[string]any, _ string) bool {
		return slices.Equal(strs(m, "code_challenge_methods_supported"), []string{"S256"})
	}},
	{"request_uri_parameter_supported", "defaults to true (Discovery §3): must say false, no request_uri is supported", func(m map[string]any, _ string) bool {
		v, ok := m["request_uri_parameter_supported"].(bool)
		return ok && !v
	}},
	{"response_modes_supported", "OPTIONAL; query only, the default of code", func(m map[string]any, _ string) bool {
		return slices.Equal(strs(m, "response_modes_supported"), []string{"query"})
	}},
	{"(any)", "no member advertises \"none\" as a signing algorithm (RFC 8414 §2)", func(m map[string]any, _ string) bool {
		for _, f := range []string{"id_token_signing_alg_values_supported", "access_token_signing_alg_values_supported"} {
			if slices.Contains(strs(m, f), "none") {
				return false
			}
		}
		return true
	}},
}

func absURL(field string) func(map[string]any, string) bool {
	return func(m map[string]any, _ string) bool {
		s, ok := m[field].(string)
		u, err := url.Parse(s)
		return ok && err == nil && u.IsAbs() && u.Host != "" && u.Fragment == ""
	}
}

// strs reads a JSON array of strings; anything else reads as nil.
func strs(m map[string]any, field string) []string {
	arr, ok := m[field].([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, v := range arr {
		s, ok := v.(string)
		if !ok {
			return nil
		}
		out = append(out, s)
	}
	return out
}

// TestMetadataConformsToTheSpecs runs the rules of OpenID Connect
// Discovery §3 and RFC 8414 §2 over both metadata documents, for every
// access-token algorithm (the ES256 default included), and has go-oidc's
// NewProvider accept the document.
func TestMetadataConformsToTheSpecs(t *testing.T) {
	for _, alg := range SigningAlgs {
		t.Run(alg, func(t *testing.T) {
			e := newEnv(t, withKeys(t, KeyringConfig{SigningAlg: alg}))
			for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
				req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
				res := e.do(req)
				if res.status != http.StatusOK {
					t.Fatalf("%s: %d", path, res.status)
				}
				for _, r := range discoveryRules {
					if !r.check(res.body, e.url) {
						t.Errorf("%s: %s: %s; got %v", path, r.field, r.rule, res.body[r.field])
					}
				}
			}
			if _, err := oidc.NewProvider(t.Context(), e.url); err != nil {
				t.Errorf("go-oidc refuses the metadata: %v", err)
			}
		})
	}
}
