package loadbench

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    Result
		wantErr bool
	}{
		{"summary line among wrk's own output",
			"Running 1s test @ http://x\n  2 threads\nLOADBENCH requests=1000 duration_us=500000 errors=0 p50_us=120 p99_us=900\n",
			Result{Requests: 1000, Elapsed: 500 * time.Millisecond, P50: 120 * time.Microsecond, P99: 900 * time.Microsecond}, false},
		{"errors are reported", "LOADBENCH requests=10 duration_us=1000000 errors=3 p50_us=1 p99_us=2\n",
			Result{Requests: 10, Errors: 3, Elapsed: time.Second, P50: time.Microsecond, P99: 2 * time.Microsecond,
				FirstError: "3 requests failed or answered another status than expected"}, false},
		{"no summary", "unable to connect\n", Result{}, true},
		{"garbled number", "LOADBENCH requests=x\n", Result{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(tt.out)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLoadWrkAgainstBareHandler(t *testing.T) {
	wrk := WrkPath()
	if wrk == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("wrk is not installed (.ci/run installs it)")
		}
		t.Skip("wrk is not installed (apt-get install wrk)")
	}
	srv := httptest.NewServer(BareHandler())
	defer srv.Close()
	tests := []struct {
		name       string
		req        Request
		wantErrors bool
	}{
		{"get", Request{Method: "GET", URL: srv.URL + "/v1/platform/apps/app_1"}, false},
		{"form post with a quoted body", formPost(srv.URL+"/v1/oauth/token", `grant_type=client_credentials&client_id="a\b"`, nil), false},
		{"4xx counts as error", Request{Method: "GET", URL: srv.URL + "/nothing"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := wrkOnce(context.Background(), wrk, tt.req, 4, time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if r.Requests == 0 {
				t.Fatal("no requests were sent")
			}
			if got := r.Errors > 0; got != tt.wantErrors {
				t.Fatalf("errors = %d of %d, want errors: %v", r.Errors, r.Requests, tt.wantErrors)
			}
			if !tt.wantErrors && (r.P50 <= 0 || r.P99 < r.P50 || r.RPS() <= 0) {
				t.Errorf("implausible figures: %+v rps=%f", r, r.RPS())
			}
		})
	}
}
