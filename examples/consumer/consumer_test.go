package consumer

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestCloseRecordsNothingOfTheWorkItEnds: closing the consumer is its
// crash. A write-back that the close cuts short fails; the variant that
// swallows such failures must still not record the event, since a killed
// process writes nothing more, or the retry after the restart would skip
// the note. Many rounds, as the write and the close race.
func TestCloseRecordsNothingOfTheWorkItEnds(t *testing.T) {
	entered := make(chan struct{}, 1)
	argus := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/oauth/token" {
			_, _ = w.Write([]byte(`{"access_token":"tok"}`))
			return
		}
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the caller leave
		select {                           // net/http may resend a request with an Idempotency-Key
		case entered <- struct{}{}:
		default:
		}
		<-r.Context().Done() // the write-back hangs until the caller gives up
	}))
	defer argus.Close()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	signer, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"type":"case.closed","data":{"case":{"id":"case_1","status":"CLOSED","version":3}}}`
	for round := range 40 {
		dir := t.TempDir()
		c, err := New(Config{Secret: secret, StateDir: dir, Bug: BugSwallowEffectError,
			Argus: &ArgusClient{BaseURL: argus.URL, ClientID: "c", ClientSecret: "s"}})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		sig, err := signer.Sign("evt_1", now, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, WebhookPath, strings.NewReader(body))
		req.Header.Set(standardwebhooks.HeaderWebhookID, "evt_1")
		req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.Handler().ServeHTTP(httptest.NewRecorder(), req)
		}()
		<-entered
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		<-done
		s, err := OpenStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		n := s.Applied("evt_1")
		_ = s.Close()
		if n != 0 {
			t.Fatalf("round %d: the event was recorded %d times after the close that cut its write-back short", round, n)
		}
	}
}
