package core

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/knogin/argus-sandbox/specs"
)

// TestPanicIsWrittenByTheAPIsErrorWriter: a handler that panics is answered
// in its API's wire format, like every other error before or around it,
// and still carries the request ID.
func TestPanicIsWrittenByTheAPIsErrorWriter(t *testing.T) {
	doc, err := specs.LoadSpec("test.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	h := okHandlers()
	var got *RequestError
	writer := func(w http.ResponseWriter, r *http.Request, e *RequestError) {
		got = e
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(e.Status)
		_, _ = io.WriteString(w, "surface:"+e.Code)
	}
	rt, err := NewRouter(RouterConfig{
		APIs:     []API{{Name: "test", Doc: doc, Handlers: h, Errors: writer}},
		Security: map[string]Authenticator{"adminToken": AuthenticatorFunc(nil), "accessToken": AuthenticatorFunc(nil)},
		IDs:      NewIDs(nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/boom", nil)
	req.Header.Set("X-Request-Id", "trace-boom")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || string(body) != "surface:internal_error" {
		t.Errorf("panic answered %d %q, want 500 from the API's writer", resp.StatusCode, body)
	}
	if got == nil || got.Status != http.StatusInternalServerError || got.Code != "internal_error" || got.Detail == "" {
		t.Errorf("writer got %+v, want a 500 internal_error with a detail", got)
	}
	if id := resp.Header.Get("X-Request-Id"); id != "trace-boom" {
		t.Errorf("X-Request-Id = %q, want trace-boom", id)
	}
}
