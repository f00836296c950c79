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
	// CheckSecret reports whether secret is the current secret of clientID
	// or a previous one still inside its rotation grace period.
	CheckSecret(ctx context.Context, clientID, secret string) (bool, error)
}
