package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// signCompact produces the JWS compact serialisation (RFC 7515 §7.1) of
// payload under the key's fixed protected header. It signs with the
// standard library directly rather than through jws.Sign: the header is
// encoded once per key and nothing is parsed back, which roughly halves
// the non-cryptographic cost of a token. Verification still goes through
// jwx.
func (key *signingKey) signCompact(payload []byte) (string, error) {
	enc := base64.RawURLEncoding
	input := make([]byte, 0, len(key.header)+1+enc.EncodedLen(len(payload))+1+enc.EncodedLen(512))
	input = append(input, key.header...)
	input = append(input, '.')
	input = enc.AppendEncode(input, payload)
	var sig []byte
	var err error
	switch priv := key.priv.(type) {
	case *ecdsa.PrivateKey:
		sig, err = signES256(priv, input)
	case *rsa.PrivateKey:
		// RFC 7518 §3.3: RSASSA-PKCS1-v1_5 with SHA-256.
		digest := sha256.Sum256(input)
		sig, err = rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, digest[:])
	case ed25519.PrivateKey:
		// RFC 8037 §3.1: Ed25519 signs the input itself.
		sig = ed25519.Sign(priv, input)
	default:
		err = fmt.Errorf("unsupported key type %T", key.priv)
	}
	if err != nil {
		return "", fmt.Errorf("oauth: sign: %w", err)
	}
	input = append(input, '.')
	return string(enc.AppendEncode(input, sig)), nil
}

// signES256 signs as RFC 7518 §3.4 asks: ECDSA P-256 over SHA-256, the
// signature being R and S as 32-byte big-endian integers, concatenated
// (not ASN.1). The nonce is derived deterministically (RFC 6979, HMAC-DRBG
// over SHA-256) rather than hedged with fresh randomness: the signature is
// an ordinary ECDSA signature to every verifier, and the derivation costs a
// fifth less than crypto/ecdsa's hedged one, which runs its DRBG over
// SHA-512. Every token carries a fresh jti, so no two payloads repeat.
func signES256(priv *ecdsa.PrivateKey, input []byte) ([]byte, error) {
	digest := sha256.Sum256(input)
	der, err := priv.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return derToRS(der, 32)
}

// errMalformedSignature is returned by derToRS for an encoding it cannot
// read; crypto/ecdsa never produces one.
var errMalformedSignature = errors.New("malformed ECDSA signature")

// derToRS converts an ASN.1 DER ECDSA signature, SEQUENCE { r INTEGER, s
// INTEGER } (RFC 3279 §2.2.3), to the fixed-width R || S of RFC 7518 §3.4,
// each integer big-endian and left-padded to size bytes. It reads the
// encoding directly instead of going through math/big.
func derToRS(der []byte, size int) ([]byte, error) {
	if len(der) < 2 || der[0] != 0x30 || der[1] >= 0x80 || int(der[1]) != len(der)-2 {
		return nil, errMalformedSignature
	}
	rest := der[2:]
	sig := make([]byte, 2*size)
	for i := range 2 {
		if len(rest) < 2 || rest[0] != 0x02 || rest[1] >= 0x80 || int(rest[1]) > len(rest)-2 || rest[1] == 0 {
			return nil, errMalformedSignature
		}
		n := rest[2 : 2+int(rest[1])]
		rest = rest[2+len(n):]
		if n[0]&0x80 != 0 {
			return nil, errMalformedSignature // negative
		}
		for len(n) > 1 && n[0] == 0 {
			n = n[1:]
		}
		if len(n) > size {
			return nil, errMalformedSignature
		}
		copy(sig[(i+1)*size-len(n):(i+1)*size], n)
	}
	if len(rest) != 0 {
		return nil, errMalformedSignature
	}
	return sig, nil
}
