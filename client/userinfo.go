package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// UserInfo is the signed-in user's claims (OpenID Connect Core §5.3.2):
// Sub always, the others as the token's scopes release them (name and
// locale with profile, email and email_verified with email).
type UserInfo struct {
	Sub           string `json:"sub"`
	Name          string `json:"name,omitempty"`
	Locale        string `json:"locale,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified,omitempty"`
	// Claims holds every claim of the answer, the standard ones above and
	// the user's custom claims (roles, groups…) that profile releases.
	Claims map[string]any `json:"-"`
}

// UserInfo reads the claims of the user an access token was issued to
// (GET /v1/oauth/userinfo, OpenID Connect Core §5.3.1). The token must be
// a user's, from the authorization-code flow, and hold openid; refusals
// are RFC 6750 §3 errors: 401 invalid_token, 403 insufficient_scope.
func (o OAuthAPI) UserInfo(ctx context.Context, accessToken string) (UserInfo, error) {
	return o.userInfo(ctx, http.MethodGet, accessToken)
}

// UserInfoPost is UserInfo sent as POST (OpenID Connect Core §5.3.1),
// which the sandbox answers the same.
func (o OAuthAPI) UserInfoPost(ctx context.Context, accessToken string) (UserInfo, error) {
	return o.userInfo(ctx, http.MethodPost, accessToken)
}

func (o OAuthAPI) userInfo(ctx context.Context, method, accessToken string) (UserInfo, error) {
	const path = "/v1/oauth/userinfo"
	var out UserInfo
	var raw []byte
	if err := o.c.do(ctx, call{method: method, path: path, bearer: accessToken, want: http.StatusOK, out: &out, raw: &raw}); err != nil {
		return UserInfo{}, err
	}
	if err := json.Unmarshal(raw, &out.Claims); err != nil {
		return UserInfo{}, fmt.Errorf("client: %s %s: malformed answer: %w", method, path, err)
	}
	return out, nil
}
