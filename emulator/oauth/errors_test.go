package oauth

import (
	"net/http"
	"net/url"
	"testing"
)

func TestEmptyBodyNamesTheMissingParameter(t *testing.T) {
	e := newEnv(t)
	basic := appFull.ClientID + ":" + secretFull
	tests := []struct {
		name     string
		path     string
		form     url.Values
		wantDesc string
	}{
		{"revoke with an empty body", "/v1/oauth/revoke", nil, "token is required"},
		{"introspect with an empty body", "/v1/oauth/introspect", nil, "token is required"},
		{"token with an empty body", "/v1/oauth/token", nil, "grant_type is required"},
		{"revoke without token", "/v1/oauth/revoke", url.Values{"token_type_hint": {"refresh_token"}}, "token is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.post(tt.path, tt.form, basic)
			wantOAuthError(t, res, http.StatusBadRequest, CodeInvalidRequest)
			if got := res.str("error_description"); got != tt.wantDesc {
				t.Errorf("error_description = %q, want %q", got, tt.wantDesc)
			}
		})
	}
}
