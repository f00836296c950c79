package oauth

import (
	"encoding/base64"
	"encoding/json"
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
			key, err := generateKey(jwa.SignatureAlgorithm(alg))
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
