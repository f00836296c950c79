package faults

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/emulator/core"
)

func TestParseFileExample(t *testing.T) {
	data, err := os.ReadFile("testdata/faults.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules, err := ParseFile("faults.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rules {
		name, target := r.Action.Kind()
		got = append(got, r.Name+":"+name+":"+string(target))
	}
	want := []string{
		"slow-apps:latency:http", "token-outage:error:http", "flaky-gateway:error:http",
		"rate-limited-acme:error:http", "lost-create:reset:http", "short-lived-tokens:token_expiry:token",
		"duplicate-case-events:duplicate:delivery", "lost-responses:response_lost:delivery",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rules (-want +got):\n%s", diff)
	}
	if rules[0].Action.Latency.Fixed != Duration(1500*time.Millisecond) || *rules[2].When.Probability != 0.1 {
		t.Errorf("options not decoded: %+v %+v", rules[0].Action, rules[2].When)
	}
	if _, err := New(Config{Clock: core.NewVirtualClock(nil), IDs: core.NewIDs(nil), Rules: rules}); err != nil {
		t.Errorf("the example file does not load into an engine: %v", err)
	}
}

func TestBadRulesNameTheField(t *testing.T) {
	tests := []struct {
		name      string
		rule      string // one entry of rules:, as YAML flow
		wantField string
		wantIn    string
	}{
		{"missing name", `{action: {malformed: {}}}`, "/rules/0", "name"},
		{"bad name", `{name: Bad Name, action: {malformed: {}}}`, "/rules/0/name", "pattern"},
		{"reserved name", `{name: events, action: {malformed: {}}}`, "/rules/0/name", ""},
		{"unknown field", `{name: a, action: {malformed: {}}, mtach: {}}`, "/rules/0", "mtach"},
		{"unknown match field", `{name: a, match: {operationId: x}, action: {malformed: {}}}`, "/rules/0/match", "operationId"},
		{"no action", `{name: a, action: {}}`, "/rules/0/action", "minProperties"},
		{"two actions", `{name: a, action: {malformed: {}, reset: {}}}`, "/rules/0/action", "maxProperties"},
		{"unknown action", `{name: a, action: {explode: {}}}`, "/rules/0/action", "explode"},
		{"probability above 1", `{name: a, when: {probability: 1.5}, action: {malformed: {}}}`, "/rules/0/when/probability", "maximum"},
		{"first zero", `{name: a, when: {first: 0}, action: {malformed: {}}}`, "/rules/0/when/first", "minimum"},
		{"bad window", `{name: a, when: {from: soon}, action: {malformed: {}}}`, "/rules/0/when/from", "RFC 3339"},
		{"unsupported status", `{name: a, action: {error: {status: 418}}}`, "/rules/0/action/error/status", "429"},
		{"duration as number", `{name: a, action: {error: {status: 503, retry_after: 30}}}`, "/rules/0/action/error/retry_after", "string"},
		{"bad duration", `{name: a, action: {latency: {fixed: 2 seconds}}}`, "/rules/0/action/latency/fixed", "pattern"},
		{"empty latency", `{name: a, action: {latency: {}}}`, "/rules/0/action/latency", "positive"},
		{"retry_after on 500", `{name: a, action: {error: {status: 500, retry_after: 5s}}}`, "/rules/0/action/error/retry_after", "429 and 503"},
		{"limit on 503", `{name: a, action: {error: {status: 503, limit: 5}}}`, "/rules/0/action/error/limit", "429"},
		{"topic on a request action", `{name: a, match: {topic: case.updated}, action: {malformed: {}}}`, "/rules/0/match/topic", "webhook delivery"},
		{"operation on a delivery action", `{name: a, match: {operation: getThing}, action: {bad_signature: {}}}`, "/rules/0/match/operation", "request actions"},
		{"path on a token action", `{name: a, match: {path: /v1/oauth/token}, action: {token_expiry: {expires_in: 0s}}}`, "/rules/0/match/path", "request actions"},
		{"bad path pattern", `{name: a, match: {path: "/v1/[x"}, action: {malformed: {}}}`, "/rules/0/match/path", "bad pattern"},
		{"too many copies", `{name: a, action: {duplicate: {copies: 11}}}`, "/rules/0/action/duplicate/copies", "maximum"},
		{"zero delay", `{name: a, action: {delay: {for: 0s}}}`, "/rules/0/action/delay/for", "positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile("faults.yaml", []byte("rules:\n  - "+tt.rule+"\n"))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			if !strings.HasPrefix(err.Error(), "faults.yaml: ") {
				t.Errorf("error %q does not name the file", err)
			}
			for _, is := range verr.Issues {
				if is.Field == tt.wantField && strings.Contains(is.Reason, tt.wantIn) {
					return
				}
			}
			t.Errorf("issues %+v do not name %s (%q)", verr.Issues, tt.wantField, tt.wantIn)
		})
	}
}

func TestParseFileRefusesWholeFileProblems(t *testing.T) {
	tests := []struct {
		name      string
		file      string
		wantField string
	}{
		{"not YAML", "rules: [", "/"},
		{"no rules key", "rulez: []", "/"},
		{"duplicate names", "rules:\n  - {name: a, action: {malformed: {}}}\n  - {name: a, action: {malformed: {}}}\n", "/rules/1/name"},
		{"every problem at once", "rules:\n  - {name: a, when: {probability: 2}, action: {malformed: {}}}\n  - {name: b, action: {error: {status: 1}}}\n", "/rules/1/action/error/status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile("f.yaml", []byte(tt.file))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a ValidationError", err)
			}
			found := false
			for _, is := range verr.Issues {
				found = found || is.Field == tt.wantField
			}
			if !found {
				t.Errorf("issues %+v do not name %s", verr.Issues, tt.wantField)
			}
		})
	}
}

func TestDecodeRule(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		want      Rule
		wantField string
	}{
		{
			name: "valid",
			body: `{"name":"outage","match":{"path":"/v1/oauth/token"},"when":{"first":3},"action":{"error":{"status":503,"retry_after":"20s"}}}`,
			want: Rule{Name: "outage", Match: Match{Path: "/v1/oauth/token"}, When: When{First: 3},
				Action: Action{Error: &ErrorReply{Status: 503, RetryAfter: Duration(20 * time.Second)}}},
		},
		{
			name: "negative token lifetime",
			body: `{"name":"expired","action":{"token_expiry":{"expires_in":"-5m"}}}`,
			want: Rule{Name: "expired", Action: Action{TokenExpiry: &TokenExpiry{ExpiresIn: Duration(-5 * time.Minute)}}},
		},
		{name: "malformed JSON", body: `{"name":`, wantField: "/"},
		{name: "field relative to the rule", body: `{"name":"a","when":{"probability":-1},"action":{"malformed":{}}}`, wantField: "/when/probability"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeRule([]byte(tt.body))
			if tt.wantField != "" {
				var verr *ValidationError
				if !errors.As(err, &verr) || verr.Issues[0].Field != tt.wantField {
					t.Fatalf("err = %v, want an issue at %s", err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rule (-want +got):\n%s", diff)
			}
		})
	}
}
