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
	return string(appendSignature(nil, key, id, timestamp, body))
}

// sigLen is the length of one "v1,<base64 of 32 bytes>" signature.
var sigLen = len("v1,") + base64.StdEncoding.EncodedLen(sha256.Size)

// appendSignature appends Sign's result to dst. The signed prefix is
// written in one piece and the MAC encoded in place, so a signature costs
// the HMAC and the bytes it returns.
func appendSignature(dst, key []byte, id string, timestamp int64, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	prefix := make([]byte, 0, len(id)+24)
	prefix = append(prefix, id...)
	prefix = append(prefix, '.')
	prefix = strconv.AppendInt(prefix, timestamp, 10)
	prefix = append(prefix, '.')
	mac.Write(prefix)
	mac.Write(body)
	var sum [sha256.Size]byte
	dst = append(dst, "v1,"...)
	return base64.StdEncoding.AppendEncode(dst, mac.Sum(sum[:0]))
}

// signatureHeader signs with every secret, newest first, separated by
// spaces, so consumers holding either secret verify during a rotation.
func signatureHeader(secrets []string, id string, timestamp int64, body []byte) string {
	out := make([]byte, 0, len(secrets)*(sigLen+1))
	for _, s := range secrets {
		key, err := secretKey(s)
		if err != nil {
			continue // secrets are validated when stored
		}
		if len(out) > 0 {
			out = append(out, ' ')
		}
		out = appendSignature(out, key, id, timestamp, body)
	}
	return string(out)
}
