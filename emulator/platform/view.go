package platform

import "time"

type grantView struct {
	GrantType string `json:"grant_type"`
	Status    string `json:"status"`
}

type redirectView struct {
	URI    string `json:"uri"`
	Status string `json:"status"`
}

type scopeView struct {
	Scope  string `json:"scope"`
	Status string `json:"status"`
}

type appView struct {
	ID             string         `json:"id"`
	ClientID       string         `json:"client_id"`
	Name           string         `json:"name"`
	Status         string         `json:"status"`
	GrantTypes     []grantView    `json:"grant_types"`
	RedirectURIs   []redirectView `json:"redirect_uris"`
	Scopes         []scopeView    `json:"scopes"`
	ApprovedScopes []string       `json:"approved_scopes"`
	PendingScopes  []string       `json:"pending_scopes"`
	CreatedAt      textTime       `json:"created_at"`
	UpdatedAt      textTime       `json:"updated_at"`
	ClientSecret   string         `json:"client_secret,omitempty"`
	// TokenEndpointAuthMethod is none for a public client (RFC 7591 §2).
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method"`
}

// textTime is a time.Time that encoding/json writes through MarshalText:
// the same RFC 3339 string as time.Time's MarshalJSON, without
// encoding/json re-scanning (compacting) what a json.Marshaler returns.
type textTime time.Time

// MarshalText is time.Time's.
func (t textTime) MarshalText() ([]byte, error) { return time.Time(t).MarshalText() }

func viewApp(a App) appView {
	v := appView{ID: a.ID, ClientID: a.ClientID, Name: a.Name, Status: "active",
		GrantTypes: []grantView{}, RedirectURIs: []redirectView{}, Scopes: []scopeView{},
		ApprovedScopes: values(a.Scopes, Approved), PendingScopes: values(a.Scopes, Pending),
		CreatedAt: textTime(a.CreatedAt), UpdatedAt: textTime(a.UpdatedAt), TokenEndpointAuthMethod: "client_secret_basic"}
	if a.Public {
		v.TokenEndpointAuthMethod = authMethodNone
	}
	for _, g := range a.GrantTypes {
		v.GrantTypes = append(v.GrantTypes, grantView{g.Value, g.Status})
	}
	for _, u := range a.RedirectURIs {
		v.RedirectURIs = append(v.RedirectURIs, redirectView{u.Value, u.Status})
	}
	for _, sc := range a.Scopes {
		v.Scopes = append(v.Scopes, scopeView{sc.Value, sc.Status})
	}
	if hasPending(a) {
		v.Status = "pending_review"
	}
	return v
}

func hasPending(a App) bool {
	for _, list := range [][]Item{a.GrantTypes, a.RedirectURIs, a.Scopes} {
		for _, it := range list {
			if it.Status == Pending {
				return true
			}
		}
	}
	return false
}

type secretView struct {
	ID        string     `json:"id"`
	Status    string     `json:"status"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// liveSecrets lists the current secret and those still in grace at now.
func liveSecrets(a App, now time.Time) []secretView {
	out := []secretView{}
	for _, sec := range a.Secrets {
		if sec.ExpiresAt.IsZero() {
			out = append(out, secretView{ID: sec.ID, Status: "current", CreatedAt: sec.CreatedAt})
			continue
		}
		if now.Before(sec.ExpiresAt) {
			exp := sec.ExpiresAt
			out = append(out, secretView{ID: sec.ID, Status: "grace", CreatedAt: sec.CreatedAt, ExpiresAt: &exp})
		}
	}
	return out
}

type serviceTokenView struct {
	ID          string    `json:"id"`
	Description string    `json:"description,omitempty"`
	Scopes      []string  `json:"scopes"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	Status      string    `json:"status"`
	AccessToken string    `json:"access_token,omitempty"`
	TokenType   string    `json:"token_type,omitempty"`
}

func viewServiceToken(t ServiceToken, now time.Time) serviceTokenView {
	st := "active"
	switch {
	case t.Revoked:
		st = "revoked"
	case !now.Before(t.ExpiresAt):
		st = "expired"
	}
	return serviceTokenView{ID: t.ID, Description: t.Description, Scopes: t.Scopes, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, Status: st}
}
