package consumer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// TestWriteBackSendsItsIdempotencyKey: the note carries the key on the
// first try and again after a refused token.
func TestWriteBackSendsItsIdempotencyKey(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/oauth/token" {
			_, _ = w.Write([]byte(`{"access_token":"tok"}`))
			return
		}
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		first := len(keys) == 1
		mu.Unlock()
		if first {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"data":{"addCaseNote":{"id":"n1"}}}`))
	}))
	defer srv.Close()
	a := &ArgusClient{BaseURL: srv.URL, ClientID: "c", ClientSecret: "s"}
	if err := a.AddCaseNote(context.Background(), "case_1", "synced", "case.closed:evt_1"); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != "case.closed:evt_1" || keys[1] != keys[0] {
		t.Errorf("keys sent: %q", keys)
	}
}
