package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Standard Webhooks headers (https://www.standardwebhooks.com/, "Signature
// scheme"): the message id, the Unix timestamp of the attempt and the
// space-separated list of versioned signatures.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix starts every signing secret (Standard Webhooks, "Symmetric
// keys"): the rest is the base64 of the HMAC key.
const SecretPrefix = "whsec_"

// secretBytes is the key size of generated secrets (192 bits, as Svix).
const secretBytes = 24

// ErrInvalidSecret is returned for a secret that is not whsec_ + base64 of
// 24 to 64 bytes.
var ErrInvalidSecret = errors.New("invalid signing secret")

// newSecret formats key as a Standard Webhooks secret.
func newSecret(key []byte) string {
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// secretKey decodes a whsec_ secret into its HMAC key.
func secretKey(secret string) ([]byte, error) {
	raw, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, ErrInvalidSecret
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(key) < 24 || len(key) > 64 {
		return nil, ErrInvalidSecret
	}
	return key, nil
}

// Sign returns the Standard Webhooks v1 signature of a message:
// "v1," + base64(HMAC-SHA256(key, id + "." + timestamp + "." + body)).
func Sign(key []byte, id string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(nil, timestamp, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// signatureHeader signs with every secret, newest first, separated by
// spaces, so consumers holding either secret verify during a rotation.
func signatureHeader(secrets []string, id string, timestamp int64, body []byte) string {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		key, err := secretKey(s)
		if err != nil {
			continue // secrets are validated when stored
		}
		sigs = append(sigs, Sign(key, id, timestamp, body))
	}
	return strings.Join(sigs, " ")
}
