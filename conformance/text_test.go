package conformance

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleReport covers every verdict, a diff, delivery evidence and a
// summarised burst.
func sampleReport() *Report {
	status := 204
	burst := make([]Delivery, 12)
	for i := range burst {
		burst[i] = Delivery{Label: "burst", EventID: "evt_burst", Topic: "case.updated", Status: "succeeded",
			Attempts: []Attempt{{Number: 1, Trigger: "initial", Status: status, DurationMS: 1}}}
	}
	return &Report{
		Target:   "http://127.0.0.1:9000/webhooks/argus",
		Duration: 1234 * time.Millisecond,
		Scenarios: []Result{
			{Name: "single-delivery", Category: CategoryAcknowledgement, Title: "A single delivery is acknowledged in time and applied once", Status: StatusPass, Duration: 12 * time.Millisecond},
			{
				Name: "response-lost", Category: CategoryDeduplication, Title: "A retry after a lost response does not apply the event again",
				Detects: "A consumer that treats a retry as a new event.", Why: "Answers get lost.",
				Status: StatusFail, Duration: 40 * time.Millisecond,
				Sent: []string{"fault rule response-lost.lose-first-answer: response_lost on case.closed, first 1",
					"published closed case.closed case case_acme_1002 (evt_1)", "advanced the sandbox clock by 10s"},
				Deliveries: []Delivery{{Label: "closed", EventID: "evt_1", Topic: "case.closed", Status: "succeeded", Attempts: []Attempt{
					{Number: 1, Trigger: "initial", DurationMS: 1, Error: "response_lost: dropped", FaultRule: "response-lost.lose-first-answer",
						Headers: map[string]string{"webhook-id": "evt_1", "webhook-timestamp": "1772442900"}},
					{Number: 2, Trigger: "retry", Status: status, DurationMS: 2, Headers: map[string]string{"webhook-id": "evt_1", "webhook-timestamp": "1772442905"}},
				}}},
				ConsumerOutput: "applied evt_1\napplied evt_1",
				Checks: []Check{
					{At: "end", Level: LevelHTTP, Name: "responses to closed (attempt 2): 2xx", Status: StatusPass},
					{At: "end", Level: LevelProbe, Name: "applied closed=1", Status: StatusFail,
						Detail: "closed evt_1: want 1, got 2\nread after the consumer settled, 120ms after the deliveries"},
				},
			},
			{
				Name: "burst-with-duplicates", Category: CategoryDeduplication, Title: "A burst", Detects: "Racy dedupe.", Why: "Bursts happen.",
				Status: StatusUnverified, Duration: 300 * time.Millisecond, Deliveries: burst,
				Checks: []Check{
					{At: "end", Level: LevelHTTP, Name: "responses to burst: 2xx", Status: StatusPass},
					{At: "end", Level: LevelProbe, Name: "applied burst=1", Status: StatusUnverified, Detail: "probe unavailable: no probe URL (--probe)"},
				},
			},
			{Name: "restart-between-duplicates", Title: "A duplicate after a restart", Detects: "Memory-only dedupe.", Why: "Restarts happen.",
				Status: StatusUnverified, Reason: "needs a consumer the runner can restart (--exec); not run"},
		},
	}
}

func TestReportGolden(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		write func(*Report, *bytes.Buffer) error
	}{
		{name: "text", file: "report.golden.txt", write: func(r *Report, b *bytes.Buffer) error { return r.WriteText(b) }},
		{name: "junit", file: "report.golden.xml", write: func(r *Report, b *bytes.Buffer) error { return r.WriteJUnit(b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bytes.Buffer
			if err := tt.write(sampleReport(), &got); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("%s differs from the golden file (-want +got; go test -update rewrites it):\n%s", tt.file, diff)
			}
		})
	}
}

func TestVerdict(t *testing.T) {
	tests := []struct {
		name   string
		checks []Status
		want   Status
	}{
		{name: "all pass", checks: []Status{StatusPass, StatusPass}, want: StatusPass},
		{name: "unverified is never pass", checks: []Status{StatusPass, StatusUnverified}, want: StatusUnverified},
		{name: "failure wins", checks: []Status{StatusUnverified, StatusFail, StatusPass}, want: StatusFail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cs []Check
			for _, s := range tt.checks {
				cs = append(cs, Check{Status: s})
			}
			if got := verdict(cs); got != tt.want {
				t.Errorf("verdict = %s, want %s", got, tt.want)
			}
		})
	}
}
