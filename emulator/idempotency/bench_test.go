package idempotency

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// BenchmarkKeyed serves keyed creates through the layer on its default
// (in-memory) store: each a new key, then replays of one key.
func BenchmarkKeyed(b *testing.B) {
	created := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"id":"app_1"}`))
	})
	b.Run("new key", func(b *testing.B) {
		l, err := New(Config{Clock: core.NewVirtualClock(time.Now), APIs: map[string]Applies{"platform": nil}})
		if err != nil {
			b.Fatal(err)
		}
		h := l.Wrap(createOp, created)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			h.ServeHTTP(httptest.NewRecorder(), keyedRequest(strconv.Itoa(i)))
		}
	})
	b.Run("replay", func(b *testing.B) {
		l, err := New(Config{Clock: core.NewVirtualClock(time.Now), APIs: map[string]Applies{"platform": nil}})
		if err != nil {
			b.Fatal(err)
		}
		h := l.Wrap(createOp, created)
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(httptest.NewRecorder(), keyedRequest("k"))
		}
	})
}
