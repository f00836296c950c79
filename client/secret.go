package client

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// WebhookSecretPrefix starts every webhook signing secret (Standard
// Webhooks, "Symmetric keys"); the rest is the base64 of the HMAC key.
const WebhookSecretPrefix = "whsec_"

// Bounds of a webhook signing key, in bytes: the sandbox generates 24 and
// accepts 24 to 64 (SandboxWebhookRequest.Secret).
const (
	MinWebhookKeyBytes = 24
	MaxWebhookKeyBytes = 64
)

// ErrWebhookSecret is the error WebhookSecretKey wraps.
var ErrWebhookSecret = errors.New("the secret must be whsec_ followed by the base64 of 24 to 64 bytes")

// WebhookSecretKey returns the HMAC key of a webhook signing secret:
// whsec_ followed by the standard base64 of 24 to 64 bytes, the form the
// sandbox generates and the only one it accepts.
func WebhookSecretKey(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, WebhookSecretPrefix)
	if !ok {
		return nil, ErrWebhookSecret
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrWebhookSecret, err)
	}
	if len(key) < MinWebhookKeyBytes || len(key) > MaxWebhookKeyBytes {
		return nil, fmt.Errorf("%w, not %d", ErrWebhookSecret, len(key))
	}
	return key, nil
}
