package conformance

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReportJSONTotals: the JSON report carries the totals and the score
// (passed over the scenarios that ran: skipped ones are not required), so
// a dashboard need not recount the scenarios.
func TestReportJSONTotals(t *testing.T) {
	type summary struct {
		Totals Totals   `json:"totals"`
		Score  *float64 `json:"score"`
	}
	score := func(f float64) *float64 { return &f }
	allSkipped := &Report{Scenarios: []Result{{Name: "a", Status: StatusSkipped}}}
	withSkipped := sampleReport()
	withSkipped.Scenarios = append(withSkipped.Scenarios, Result{Name: "unknown-fields", Status: StatusSkipped})
	tests := []struct {
		name string
		rep  *Report
		want summary
	}{
		{"every verdict", withSkipped, summary{Totals{Passed: 1, Failed: 1, Unverified: 2, Skipped: 1}, score(0.25)}},
		{"nothing ran", allSkipped, summary{Totals{Skipped: 1}, nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.rep.WriteJSON(&b); err != nil {
				t.Fatal(err)
			}
			var got summary
			if err := json.Unmarshal(b.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("JSON summary (-want +got):\n%s", diff)
			}
			var back Report
			if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Scenarios) != len(tt.rep.Scenarios) {
				t.Errorf("the report does not read back: %v, %d scenarios", err, len(back.Scenarios))
			}
		})
	}
}
