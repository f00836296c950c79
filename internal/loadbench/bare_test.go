package loadbench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"strings"
	"time"
)

func TestBareJWTVerifiesAsES256(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := bareJWT(key, "client_1")
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseString(tok, jwt.WithKey(jwa.ES256, &key.PublicKey))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if parsed.Subject() != "client_1" {
		t.Errorf("sub = %q", parsed.Subject())
	}
}

func TestBareDeliverSendsVerifiableWebhooks(t *testing.T) {
	wh, err := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte(bareWebhookSecret)))
	if err != nil {
		t.Fatal(err)
	}
	var good, bad atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := wh.Verify(body, r.Header); err != nil || len(body) < 1000 {
			bad.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		good.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	bare := httptest.NewServer(BareHandler())
	defer bare.Close()
	q := url.Values{"url": {recv.URL + "/hook"}, "concurrency": {"2"}, "duration": {"100ms"}}
	resp, err := http.Post(bare.URL+"/deliver?"+q.Encode(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Sent int64 }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, decode %v", resp.StatusCode, err)
	}
	// A request cut off by the deadline may arrive without its answer
	// being counted as sent.
	if out.Sent == 0 || good.Load() < out.Sent || good.Load() > out.Sent+2 || bad.Load() != 0 {
		t.Errorf("sent %d, verified %d, refused %d", out.Sent, good.Load(), bad.Load())
	}

	resp, err = http.Post(bare.URL+"/deliver?url=ftp://x&concurrency=0&duration=1s", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad parameters: status %d, want 400", resp.StatusCode)
	}
}

func TestConformanceSuiteFailsWhenARunFails(t *testing.T) {
	f, err := ConformanceSuite(context.Background(), "/bin/true", "consumer", 3)
	if err != nil || f.Metric != "conformance-suite" || f.Unit != "ms" || f.Value <= 0 {
		t.Errorf("passing runs: %+v, %v", f, err)
	}
	if _, err := ConformanceSuite(context.Background(), "/bin/false", "consumer", 3); err == nil {
		t.Error("a failing suite run was not reported")
	}
}

func TestReceiverLatencyFromEventTimestamp(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	for i, body := range []string{
		`{"id":"evt_1","type":"case.updated","timestamp":"` + time.Now().Add(-30*time.Millisecond).UTC().Format(time.RFC3339Nano) + `","data":{}}`,
		`{"id":"evt_2","type":"case.updated","timestamp":"` + time.Now().Add(-10*time.Millisecond).UTC().Format(time.RFC3339Nano) + `","data":{}}`,
		`{"id":"evt_3","data":{}}`, // no timestamp: counted, no latency
	} {
		req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(body))
		req.Header.Set("webhook-signature", "v1,x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delivery %d: status %d", i, resp.StatusCode)
		}
	}
	p50, p99 := rc.percentiles()
	if rc.got.Load() != 3 || p50 < 30*time.Millisecond || p99 < p50 || p99 > 5*time.Second {
		t.Errorf("got %d, p50 %s, p99 %s: want 3 deliveries, p50 >= 30ms (the later of two), p99 >= p50", rc.got.Load(), p50, p99)
	}
}

// TestReceiverUnsubscribesWhenStopped: the deliveries benchmark deletes
// the webhook it subscribed once it stops its receiver, so a durable
// sandbox measured again on the same database delivers to no receiver
// that is gone.
func TestReceiverUnsubscribesWhenStopped(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	sb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls = append(calls, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Method == "POST" {
			_, _ = io.WriteString(w, `{"id":"wh_1"}`)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer sb.Close()
	_, stop, err := listenReceiver(context.Background(), sb.URL)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	mu.Lock()
	defer mu.Unlock()
	want := []string{"POST /v1/webhooks Bearer sandbox_admin_acme", "DELETE /v1/webhooks/wh_1 Bearer sandbox_admin_acme"}
	if !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
}
