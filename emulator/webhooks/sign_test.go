package webhooks

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestSignStandardWebhooksVector is the test vector of the Standard
// Webhooks specification.
func TestSignStandardWebhooksVector(t *testing.T) {
	key, err := secretKey("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := Sign(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestSignatureHeaderVerifiesWithEachSecret(t *testing.T) {
	oldSecret, newSecretV := newSecret(make([]byte, 24)), newSecret([]byte(strings.Repeat("k", 32)))
	body := []byte(`{"id":"evt_1"}`)
	ts := time.Now().Unix()
	h := http.Header{}
	h.Set(HeaderID, "evt_1")
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, signatureHeader([]string{newSecretV, oldSecret}, "evt_1", ts, body))
	tests := []struct {
		name    string
		secret  string
		wantErr bool
	}{
		{name: "new secret", secret: newSecretV},
		{name: "previous secret", secret: oldSecret},
		{name: "unrelated secret", secret: newSecret([]byte(strings.Repeat("x", 24))), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wh, err := standardwebhooks.NewWebhook(tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			if err := wh.Verify(body, h); (err != nil) != tt.wantErr {
				t.Errorf("Verify = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestSecretKey(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		wantErr bool
	}{
		{name: "generated", secret: newSecret(make([]byte, secretBytes))},
		{name: "spec vector", secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		{name: "no prefix", secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", wantErr: true},
		{name: "not base64", secret: "whsec_!!!!", wantErr: true},
		{name: "too short", secret: newSecret(make([]byte, 8)), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := secretKey(tt.secret); (err != nil) != tt.wantErr {
				t.Errorf("secretKey(%q) = %v, wantErr %v", tt.secret, err, tt.wantErr)
			}
		})
	}
}
