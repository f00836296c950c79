package faults

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/core"
)

// TestNumbersAndWindowsNameTheField: every count, size and window a rule
// gives is refused naming exactly its field, both as a posted rule and as a
// rule of a --faults file, instead of overflowing, never firing, or failing
// to decode at the root.
func TestNumbersAndWindowsNameTheField(t *testing.T) {
	tests := []struct {
		name      string
		rule      string // one rule, in JSON (also valid YAML flow)
		wantField string // relative to the rule
	}{
		{"first that overflows after plus first", `{"name":"a","when":{"after":1,"first":9223372036854775807},"action":{"malformed":{}}}`, "/when/first"},
		{"first above the maximum", `{"name":"a","when":{"first":1000000001},"action":{"malformed":{}}}`, "/when/first"},
		{"after in exponent notation beyond int", `{"name":"a","when":{"after":1e23},"action":{"malformed":{}}}`, "/when/after"},
		{"after beyond int64", `{"name":"a","when":{"after":9223372036854775808},"action":{"malformed":{}}}`, "/when/after"},
		{"after above the maximum", `{"name":"a","when":{"after":1000000001},"action":{"malformed":{}}}`, "/when/after"},
		{"from after until, durations", `{"name":"a","when":{"from":"2h","until":"1h"},"action":{"malformed":{}}}`, "/when/until"},
		{"from equal to until", `{"name":"a","when":{"from":"90m","until":"1h30m"},"action":{"malformed":{}}}`, "/when/until"},
		{"from after until, times", `{"name":"a","when":{"from":"2030-01-02T00:00:00Z","until":"2030-01-01T00:00:00Z"},"action":{"malformed":{}}}`, "/when/until"},
		{"from after until, time zones", `{"name":"a","when":{"from":"2030-01-01T12:00:00+02:00","until":"2030-01-01T09:00:00Z"},"action":{"malformed":{}}}`, "/when/until"},
		{"rate limit beyond int", `{"name":"a","action":{"error":{"status":429,"limit":1e23}}}`, "/action/error/limit"},
		{"truncate beyond int", `{"name":"a","action":{"truncate":{"bytes":1e23}}}`, "/action/truncate/bytes"},
		{"drip chunk beyond int", `{"name":"a","action":{"slow_drip":{"chunk_bytes":1e23}}}`, "/action/slow_drip/chunk_bytes"},
		{"status beyond int", `{"name":"a","action":{"error":{"status":1e23}}}`, "/action/error/status"},
		{"copies beyond int", `{"name":"a","action":{"duplicate":{"copies":1e23}}}`, "/action/duplicate/copies"},
		{"burst beyond int", `{"name":"a","action":{"reorder":{"burst":1e23}}}`, "/action/reorder/burst"},
		{"probability beyond float64", `{"name":"a","when":{"probability":1e400},"action":{"malformed":{}}}`, "/when/probability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRule([]byte(tt.rule))
			if diff := cmp.Diff([]string{tt.wantField}, issueFields(t, err)); diff != "" {
				t.Errorf("DecodeRule: fields (-want +got):\n%s\nerr: %v", diff, err)
			}
			_, err = ParseFile("faults.yaml", []byte("rules:\n  - "+tt.rule+"\n"))
			if diff := cmp.Diff([]string{"/rules/0" + tt.wantField}, issueFields(t, err)); diff != "" {
				t.Errorf("ParseFile: fields (-want +got):\n%s\nerr: %v", diff, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "faults.yaml: ") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

// TestIntegersInAnyNotationAreAccepted: JSON allows 1e2 and 2.0 for the
// integers 100 and 2; they decode as such instead of failing at the root.
func TestIntegersInAnyNotationAreAccepted(t *testing.T) {
	r, err := DecodeRule([]byte(`{"name":"a","when":{"after":1e2,"first":1000000000},"action":{"duplicate":{"copies":2.0}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if r.When.After != 100 || r.When.First != MaxMatches || r.Action.Duplicate.Copies != 2 {
		t.Errorf("decoded %+v %+v", r.When, r.Action.Duplicate)
	}
	if _, err := ParseFile("f.yaml", []byte("rules:\n  - {name: a, when: {after: 1.0e2, first: 1000000000}, action: {malformed: {}}}\n")); err != nil {
		t.Error(err)
	}
}

// TestEngineRefusesWindowsThatNeverOpen: a window whose bounds mix an RFC
// 3339 time and a duration is compared on the sandbox clock when the rule
// is loaded.
func TestEngineRefusesWindowsThatNeverOpen(t *testing.T) {
	clock := core.NewVirtualClock(nil)
	clock.Set(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	closed := When{From: "2h", Until: "2030-01-01T01:00:00Z"}
	open := When{From: "2030-01-01T00:30:00Z", Until: "1h"}
	act := Action{Malformed: &NoOptions{}}

	_, err := New(Config{Clock: clock, IDs: core.NewIDs(nil), Rules: []Rule{rule("open", Match{}, open, act), rule("closed", Match{}, closed, act)}})
	if diff := cmp.Diff([]string{"/rules/1/when/until"}, issueFields(t, err)); diff != "" {
		t.Errorf("New: fields (-want +got):\n%s\nerr: %v", diff, err)
	}
	e, err := New(Config{Clock: clock, IDs: core.NewIDs(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Add(rule("open", Match{}, open, act)); err != nil {
		t.Errorf("Add(open) = %v", err)
	}
	_, err = e.Add(rule("closed", Match{}, closed, act))
	if diff := cmp.Diff([]string{"/when/until"}, issueFields(t, err)); diff != "" {
		t.Errorf("Add: fields (-want +got):\n%s\nerr: %v", diff, err)
	}
	if names := len(e.Rules()); names != 1 {
		t.Errorf("%d rules loaded, want only the open one", names)
	}
}

// TestGoRulesAreBoundedToo: rules built in Go skip the schema; the engine
// still refuses counts that would overflow.
func TestGoRulesAreBoundedToo(t *testing.T) {
	act := Action{Malformed: &NoOptions{}}
	_, err := New(Config{Clock: core.NewVirtualClock(nil), IDs: core.NewIDs(nil), Rules: []Rule{
		rule("a", Match{}, When{After: 1, First: int(^uint(0) >> 1)}, act),
		rule("b", Match{}, When{After: -1}, act),
	}})
	if diff := cmp.Diff([]string{"/rules/0/when/first", "/rules/1/when/after"}, issueFields(t, err)); diff != "" {
		t.Errorf("fields (-want +got):\n%s\nerr: %v", diff, err)
	}
}

func issueFields(t *testing.T, err error) []string {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a ValidationError", err)
	}
	var out []string
	for _, is := range verr.Issues {
		out = append(out, is.Field)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestNumbersBeyondFloat64AreRefused: numbers the schema validator cannot
// compare (it would panic on them) are refused naming their field.
func TestNumbersBeyondFloat64AreRefused(t *testing.T) {
	tests := []struct {
		name      string
		decode    func() error
		wantField string
	}{
		{"posted probability that rounds to zero", func() error {
			_, err := DecodeRule([]byte(`{"name":"a","when":{"probability":1e-9999999},"action":{"malformed":{}}}`))
			return err
		}, "/when/probability"},
		{"posted count beyond float64", func() error {
			_, err := DecodeRule([]byte(`{"name":"a","when":{"after":1e9999999},"action":{"malformed":{}}}`))
			return err
		}, "/when/after"},
		{"infinite probability in a file", func() error {
			_, err := ParseFile("f.yaml", []byte("rules:\n  - {name: a, when: {probability: .inf}, action: {malformed: {}}}\n"))
			return err
		}, "/rules/0/when/probability"},
		{"NaN copies in a file", func() error {
			_, err := ParseFile("f.yaml", []byte("rules:\n  - {name: a, action: {duplicate: {copies: .nan}}}\n"))
			return err
		}, "/rules/0/action/duplicate/copies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff([]string{tt.wantField}, issueFields(t, tt.decode())); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}
