package loadbench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// BareHandler is the physical-ceiling baseline: a plain net/http server
// answering a small JSON GET, a form POST, a form POST answered with an
// ES256-signed JWT (the least any token endpoint must do), and
// POST /deliver, which sends signed webhooks to a receiver (see
// handleDeliver). Nothing is validated.
func BareHandler() http.Handler {
	mux := http.NewServeMux()
	app := map[string]any{"id": "app_0123456789abcdefghjkmnpqrs", "name": "Case sync connector", "status": "active"}
	mux.HandleFunc("GET /v1/platform/apps/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(app)
	})
	mux.HandleFunc("POST /v1/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": r.PostForm.Get("client_id"), "token_type": "Bearer"})
	})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	mux.HandleFunc("POST /v1/oauth/token-es256", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		tok, err := bareJWT(key, r.PostForm.Get("client_id"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	})
	mux.HandleFunc("POST /deliver", handleDeliver)
	return mux
}

// bareJWTHeader is the encoded protected header of every baseline token.
var bareJWTHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","typ":"at+jwt","kid":"bare"}`))

// bareJWT signs a minimal RFC 9068-shaped access token with ES256
// (RFC 7518 §3.4: R||S, 32 bytes each).
func bareJWT(key *ecdsa.PrivateKey, sub string) (string, error) {
	now := time.Now().Unix()
	claims, err := json.Marshal(map[string]any{"iss": "http://bare", "sub": sub, "aud": "bare", "client_id": sub,
		"iat": now, "exp": now + 3600, "jti": strconv.FormatInt(time.Now().UnixNano(), 36)})
	if err != nil {
		return "", err
	}
	input := bareJWTHeader + "." + base64.RawURLEncoding.EncodeToString(claims)
	digest := sha256.Sum256([]byte(input))
	rr, ss, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	rr.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
