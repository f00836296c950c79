package oauth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// TestSignCompactVerifiesWithJWX checks the hand-assembled JWS against an
// independent implementation: jwx verifies it with the published key and
// reads the same header jws.Sign would have written.
func TestSignCompactVerifiesWithJWX(t *testing.T) {
	payload := []byte(`{"iss":"http://127.0.0.1:8080","sub":"cli_x","scope":"cases:read"}`)
	for _, alg := range SigningAlgs {
		t.Run(alg, func(t *testing.T) {
			key, err := generateKey(jwa.SignatureAlgorithm(alg), typAccessToken)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := key.signCompact(payload)
			if err != nil {
				t.Fatal(err)
			}
			got, err := jws.Verify([]byte(tok), jws.WithKey(jwa.SignatureAlgorithm(alg), key.pub))
			if err != nil {
				t.Fatalf("jwx refuses the signature: %v", err)
			}
			if string(got) != string(payload) {
				t.Errorf("payload = %s, want %s", got, payload)
			}
			raw, err := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
			if err != nil {
				t.Fatal(err)
			}
			var hdr map[string]any
			if err := json.Unmarshal(raw, &hdr); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"alg": alg, "kid": key.kid, "typ": "at+jwt"}
			if len(hdr) != len(want) {
				t.Errorf("header = %v, want %v", hdr, want)
			}
			for k, v := range want {
				if hdr[k] != v {
					t.Errorf("header %s = %v, want %v", k, hdr[k], v)
				}
			}
		})
	}
}

// TestSignES256 checks the R || S conversion against crypto/ecdsa over
// many signatures, so R or S with leading zero bytes (one in 256) occur.
func TestSignES256(t *testing.T) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	short := 0
	for i := range 2000 {
		input := []byte("payload " + strconv.Itoa(i))
		sig, err := signES256(priv, input)
		if err != nil {
			t.Fatal(err)
		}
		if len(sig) != 64 {
			t.Fatalf("signature is %d bytes, want 64", len(sig))
		}
		if sig[0] == 0 || sig[32] == 0 {
			short++
		}
		digest := sha256.Sum256(input)
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(&priv.PublicKey, digest[:], r, s) {
			t.Fatalf("signature %d does not verify", i)
		}
	}
	if short == 0 {
		t.Log("no signature with a short R or S in this run")
	}
}

func TestDERToRS(t *testing.T) {
	pad := func(b ...byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	full := bytes.Repeat([]byte{0x7f}, 32)
	high := append([]byte{0x00}, bytes.Repeat([]byte{0x80}, 32)...)
	seq := func(parts ...[]byte) []byte {
		body := bytes.Join(parts, nil)
		return append([]byte{0x30, byte(len(body))}, body...)
	}
	integer := func(b []byte) []byte { return append([]byte{0x02, byte(len(b))}, b...) }
	tests := []struct {
		name    string
		der     []byte
		want    []byte
		wantErr bool
	}{
		{name: "small", der: seq(integer([]byte{1}), integer([]byte{2})), want: append(pad(1), pad(2)...)},
		{name: "full width", der: seq(integer(full), integer([]byte{0x01, 0x02})), want: append(full, pad(1, 2)...)},
		{name: "leading zero for the sign", der: seq(integer(high), integer(high)), want: append(high[1:], high[1:]...)},
		{name: "redundant zeros", der: seq(integer([]byte{0, 0, 5}), integer([]byte{6})), want: append(pad(5), pad(6)...)},
		{name: "empty", der: nil, wantErr: true},
		{name: "not a sequence", der: append([]byte{0x31}, seq(integer([]byte{1}), integer([]byte{2}))[1:]...), wantErr: true},
		{name: "length mismatch", der: append(seq(integer([]byte{1}), integer([]byte{2})), 0), wantErr: true},
		{name: "one integer", der: seq(integer([]byte{1})), wantErr: true},
		{name: "three integers", der: seq(integer([]byte{1}), integer([]byte{2}), integer([]byte{3})), wantErr: true},
		{name: "negative", der: seq(integer([]byte{0x80}), integer([]byte{2})), wantErr: true},
		{name: "too wide", der: seq(integer(append([]byte{1}, full...)), integer([]byte{2})), wantErr: true},
		{name: "empty integer", der: seq(integer(nil), integer([]byte{2})), wantErr: true},
		{name: "integer overruns", der: []byte{0x30, 0x04, 0x02, 0x05, 0x01, 0x02}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := derToRS(tt.der, 32)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got %x, want %x", got, tt.want)
			}
		})
	}
}
