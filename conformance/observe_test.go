package conformance

import (
	"fmt"
	"strings"
	"testing"
)

func TestDiffCounts(t *testing.T) {
	burst := func(wrong ...int) (map[string]int, map[string]int) {
		want, got := map[string]int{}, map[string]int{}
		for i := range 200 {
			k := fmt.Sprintf("burst[%d] evt_%d", i, i)
			want[k], got[k] = 1, 1
		}
		for _, i := range wrong {
			got[fmt.Sprintf("burst[%d] evt_%d", i, i)] = 2
		}
		return want, got
	}
	many := make([]int, 30)
	for i := range many {
		many[i] = 100 + i
	}
	tests := []struct {
		name     string
		wrong    []int
		want     Status
		contains []string
		excludes []string
	}{
		{name: "all applied once", want: StatusPass},
		{name: "a few twice", wrong: []int{7, 150}, want: StatusFail,
			contains: []string{"2 of 200 events were not applied as expected", "2 applied 2 times", "burst[7] evt_7", "burst[150] evt_150"},
			excludes: []string{"burst[8] ", "more"}},
		{name: "many twice: the first ten in publish order", wrong: many, want: StatusFail,
			contains: []string{"30 of 200 events", "30 applied 2 times", "burst[100] ", "burst[109] ", "… and 20 more"},
			excludes: []string{"burst[110] ", "burst[129] "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, got := burst(tt.wrong...)
			st, detail := diffCounts(want, got)
			if st != tt.want {
				t.Errorf("status = %s, want %s", st, tt.want)
			}
			for _, s := range tt.contains {
				if !strings.Contains(detail, s) {
					t.Errorf("detail lacks %q:\n%s", s, detail)
				}
			}
			for _, s := range tt.excludes {
				if strings.Contains(detail, s) {
					t.Errorf("detail has %q:\n%s", s, detail)
				}
			}
		})
	}
}

// TestNoteCases reads the case of each note-adding call from a journaled
// GraphQL body, inline or through a variable, under an alias, and from a
// body the journal cut after the case id.
func TestNoteCases(t *testing.T) {
	long := strings.Repeat("x", 5000)
	tests := []struct {
		name, body string
		want       []string
	}{
		{"variable", `{"query":"mutation($id: ID!, $body: String!) { addCaseNote(caseId: $id, body: $body) { id } }","variables":{"body":"b","id":"case_1"}}`, []string{"case_1"}},
		{"inline and aliased", `{"query":"mutation { a: addCaseNote(caseId: \"case_1\", body: \"x\") { id } b: addCaseNote(caseId: \"case_2\", body: \"y\") { id } }"}`, []string{"case_1", "case_2"}},
		{"a query", `{"query":"query($id: ID!) { case(id: $id) { id } }","variables":{"id":"case_1"}}`, nil},
		{"another operation", `{"operationName":"Q","query":"query Q { viewer { id } } mutation M { addCaseNote(caseId: \"case_1\", body: \"x\") { id } }"}`, nil},
		{"the selected operation", `{"operationName":"M","query":"query Q { viewer { id } } mutation M { addCaseNote(caseId: \"case_1\", body: \"x\") { id } }"}`, []string{"case_1"}},
		{"cut after the case id", (`{"query":"mutation($id: ID!, $body: String!) { addCaseNote(caseId: $id, body: $body) { id } }","variables":{"id":"case_1","body":"` + long)[:4096], []string{"case_1"}},
		{"cut before the case id", (`{"query":"mutation($id: ID!, $body: String!) { addCaseNote(caseId: $id, body: $body) { id } }","variables":{"body":"` + long)[:4096], nil},
		{"not JSON", `[redacted: the body could not be parsed]`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := noteCases(tt.body); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("noteCases = %v, want %v", got, tt.want)
			}
		})
	}
}
