package loadbench

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLoadAgainstBareHandler(t *testing.T) {
	srv := httptest.NewServer(BareHandler())
	defer srv.Close()
	tests := []struct {
		name       string
		req        Request
		wantErrors bool
	}{
		{"get", Request{Method: "GET", URL: srv.URL + "/v1/platform/apps/app_1"}, false},
		{"form post", formPost(srv.URL+"/v1/oauth/token", "grant_type=client_credentials&client_id=a", nil), false},
		{"wrong status counts as error", Request{Method: "GET", URL: srv.URL + "/nothing"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Load(context.Background(), tt.req, 4, 150*time.Millisecond)
			if r.Requests == 0 {
				t.Fatal("no requests were sent")
			}
			if got := r.Errors > 0; got != tt.wantErrors {
				t.Fatalf("errors = %d of %d (first: %s), want errors: %v", r.Errors, r.Requests, r.FirstError, tt.wantErrors)
			}
			if !tt.wantErrors && (r.P50 <= 0 || r.P99 < r.P50 || r.RPS() <= 0) {
				t.Errorf("implausible figures: %+v rps=%f", r, r.RPS())
			}
		})
	}
}

func TestReportTableAndBenchstatLines(t *testing.T) {
	figs := []Figure{
		{Target: "sandbox", Metric: "rest-get", Value: 40000, Unit: "req/s", P50: 500 * time.Microsecond, P99: 2 * time.Millisecond},
		{Target: "bare", Metric: "rest-get", Value: 80000, Unit: "req/s"},
		{Target: "stripe-mock", Metric: "rest-get", Value: 20000, Unit: "req/s"},
		{Target: "sandbox", Metric: "cold-start", Value: 12, Unit: "ms"},
		{Target: "bare", Metric: "cold-start", Value: 4, Unit: "ms"},
	}
	var sb strings.Builder
	Report(&sb, []string{"generator: wrk"}, figs)
	out := sb.String()
	for _, want := range []string{"0.50x", "2.00x", "3.00x", "\ngenerator: wrk\nBenchmarkE2E/metric=rest-get/target=sandbox 1 40000 req/s 500000 p50-ns 2000000 p99-ns"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestMedian(t *testing.T) {
	if got := median([]time.Duration{5, 1, 3}); got != 3 {
		t.Errorf("median = %v", got)
	}
	if got := median([]int64{}); got != 0 {
		t.Errorf("median of nothing = %v", got)
	}
}

// TestReportComparesStoresWithMemory: a durable store's figures are shown
// beside the in-memory sandbox's, with their ratio; without one, no such
// table.
func TestReportComparesStoresWithMemory(t *testing.T) {
	figs := []Figure{
		{Target: "sandbox", Metric: "rest-get", Value: 40000, Unit: "req/s"},
		{Target: "sandbox-sqlite", Metric: "rest-get", Value: 30000, Unit: "req/s"},
		{Target: "sandbox-postgres", Metric: "rest-get", Value: 10000, Unit: "req/s"},
		{Target: "sandbox", Metric: "token-client-credentials", Value: 20000, Unit: "req/s"},
		{Target: "sandbox-sqlite", Metric: "token-client-credentials", Value: 12000, Unit: "req/s"},
	}
	var sb strings.Builder
	Report(&sb, nil, figs)
	out := sb.String()
	for _, want := range []string{"sandbox-sqlite/memory", "sandbox-postgres/memory", "0.75x", "0.25x", "0.60x",
		"BenchmarkE2E/metric=rest-get/target=sandbox-postgres 1 10000 req/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	sb.Reset()
	Report(&sb, nil, figs[:1])
	if strings.Contains(sb.String(), "/memory") {
		t.Errorf("a report without a durable store compares stores:\n%s", sb.String())
	}
}
