package core

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/specs"
)

// observedRouter is a router over testSpec that hands every record to
// the returned slice and logs JSON lines into logs at level.
func observedRouter(t *testing.T, level slog.Level, logs *bytes.Buffer) (*Router, *[]RequestRecord) {
	t.Helper()
	doc, err := specs.LoadSpec("test.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	admin := AuthenticatorFunc(func(_ context.Context, tok string) (*Principal, error) {
		if tok == "admin" {
			return &Principal{Kind: KindAdmin, Tenant: "acme"}, nil
		}
		return nil, ErrInvalidToken
	})
	var got []RequestRecord
	rt, err := NewRouter(RouterConfig{
		APIs:     []API{{Name: "test", Doc: doc, Handlers: okHandlers()}},
		Security: map[string]Authenticator{"adminToken": admin, "accessToken": admin},
		IDs:      NewIDs(nil),
		Logger:   slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level})),
		Observe: func(_ *http.Request, rec RequestRecord) {
			rec.Body = bytes.Clone(rec.Body)
			got = append(got, rec)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rt, &got
}

func TestRequestRecordedAfterEachRequest(t *testing.T) {
	var logs bytes.Buffer
	rt, got := observedRouter(t, slog.LevelInfo, &logs)
	send := func(method, target, auth, body string) {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		if body != "" {
			r.Header.Set("Content-Type", "application/json")
		}
		if auth != "" {
			r.Header.Set("Authorization", "Bearer "+auth)
		}
		r.Header.Set("X-Request-Id", "req_"+strings.ToLower(method)+"_test")
		rt.ServeHTTP(httptest.NewRecorder(), r)
	}
	send("POST", "/things", "admin", `{"name":"widget"}`)
	send("POST", "/things", "admin", `{"name":1}`)
	send("GET", "/things", "wrong", "")
	send("GET", "/boom", "admin", "")
	send("GET", "/nowhere", "", "")
	tests := []struct {
		op, code, tenant, body string
		status                 int
	}{
		{"createThing", "", "acme", `{"name":"widget"}`, 201},
		{"createThing", "invalid_request", "acme", `{"name":1}`, 400},
		{"listThings", "invalid_token", "", "", 401},
		{"boom", "internal_error", "", "", 500},
		{"", "not_found", "", "", 404},
	}
	if len(*got) != len(tests) {
		t.Fatalf("recorded %d requests, want %d", len(*got), len(tests))
	}
	for i, tt := range tests {
		rec := (*got)[i]
		if rec.OperationID != tt.op || rec.Status != tt.status || rec.ErrorCode != tt.code || rec.Tenant() != tt.tenant || string(rec.Body) != tt.body {
			t.Errorf("record %d = op %q status %d code %q tenant %q body %q; want %+v", i, rec.OperationID, rec.Status, rec.ErrorCode, rec.Tenant(), rec.Body, tt)
		}
		if rec.RequestID == "" || rec.Latency <= 0 && rec.Start.IsZero() {
			t.Errorf("record %d lacks its request id or timing: %+v", i, rec)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var requests int
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] != "request" {
			continue
		}
		requests++
		for _, k := range []string{"method", "path", "operation", "status", "latency_ms", "tenant", "request_id"} {
			if _, ok := m[k]; !ok {
				t.Errorf("request log line lacks %s: %s", k, l)
			}
		}
		if _, ok := m["headers"]; ok {
			t.Errorf("info line carries headers: %s", l)
		}
	}
	if requests != len(tests) {
		t.Errorf("%d request log lines, want %d:\n%s", requests, len(tests), logs.String())
	}
}

func TestRequestLogAtDebugRedactsCredentials(t *testing.T) {
	var logs bytes.Buffer
	rt, _ := observedRouter(t, slog.LevelDebug, &logs)
	r := httptest.NewRequest("GET", "/things", nil)
	r.Header.Set("Authorization", "Bearer admin")
	r.Header.Set("Cookie", "session=s3cr3t")
	r.Header.Set("X-Trace", "visible")
	rt.ServeHTTP(httptest.NewRecorder(), r)
	out := logs.String()
	if strings.Contains(out, "Bearer admin") || strings.Contains(out, "s3cr3t") {
		t.Fatalf("debug log leaks a credential: %s", out)
	}
	if !strings.Contains(out, `"X-Trace":"visible"`) || !strings.Contains(out, `"Authorization":"[redacted]"`) {
		t.Fatalf("debug log lacks the headers: %s", out)
	}
}

func TestRequestNotObservedWhenLoggingIsOff(t *testing.T) {
	rt, err := NewRouter(RouterConfig{APIs: nil, IDs: NewIDs(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if rt.observing(context.Background()) {
		t.Fatal("a router without Observe and with a discarding logger wraps every answer")
	}
}

// TestRequestWhoseClientLeftIsNotRecordedAsAnswered: a handler that
// returns without writing because its client went away (a latency it did
// not wait out) answered nothing; the record says 499 client_closed_request,
// not the 200 net/http would have sent to a client still there.
func TestRequestWhoseClientLeftIsNotRecordedAsAnswered(t *testing.T) {
	doc, err := specs.LoadSpec("test.yaml", []byte(testSpec))
	if err != nil {
		t.Fatal(err)
	}
	handlers := okHandlers()
	handlers["listThings"] = http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	admin := AuthenticatorFunc(func(context.Context, string) (*Principal, error) {
		return &Principal{Kind: KindAdmin, Tenant: "acme"}, nil
	})
	var got []RequestRecord
	rt, err := NewRouter(RouterConfig{
		APIs:     []API{{Name: "test", Doc: doc, Handlers: handlers}},
		Security: map[string]Authenticator{"adminToken": admin, "accessToken": admin},
		IDs:      NewIDs(nil),
		Observe:  func(_ *http.Request, rec RequestRecord) { got = append(got, rec) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest("GET", "/things", nil).WithContext(ctx)
	r.Header.Set("Authorization", "Bearer admin")
	rt.ServeHTTP(httptest.NewRecorder(), r)
	if len(got) != 1 || got[0].Status != StatusClientClosedRequest || got[0].ErrorCode != "client_closed_request" {
		t.Fatalf("records %+v, want one with status 499 client_closed_request", got)
	}
}
