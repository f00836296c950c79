package oauth

import (
	"context"
	"errors"
)

// Client is what the token service needs to know of a registered app. Only
// approved grant types, redirect URIs and scopes are listed: pending ones
// are never granted.
type Client struct {
	ClientID     string
	AppID        string
	Tenant       string
	Name         string
	GrantTypes   []string
	RedirectURIs []string
	Scopes       []string
	// Public marks a public client (RFC 6749 §2.1, token_endpoint_auth_method
	// none): it authenticates with its client_id alone and must use PKCE.
	Public bool
}

// ErrUnknownClient is returned by a ClientDirectory for a client_id that is
// not registered, or whose app was deleted.
var ErrUnknownClient = errors.New("unknown client")

// ClientDirectory is the token service's view of registered apps; the
// platform surface implements it.
type ClientDirectory interface {
	// LookupClient returns an active client or an error wrapping
	// ErrUnknownClient.
	LookupClient(ctx context.Context, clientID string) (Client, error)
	// Authenticate returns the active client clientID, as LookupClient
	// does, and whether secret is its current secret or a previous one
	// still inside its rotation grace period: one read of the app.
	Authenticate(ctx context.Context, clientID, secret string) (Client, bool, error)
}

// TokenClients is a ClientDirectory that holds the token service's
// records beside the apps (a durable store keeps both in one database):
// the verifier then learns in one read what Store.AccessActive and
// LookupClient would answer, instead of one read each.
type TokenClients interface {
	// TokenClient reports what Store.AccessActive(jti, recorded) reports
	// and, when the token is active, returns LookupClient(clientID)'s
	// answer: the client, or an error wrapping ErrUnknownClient.
	TokenClient(ctx context.Context, jti string, recorded bool, clientID string) (active bool, c Client, err error)
}
