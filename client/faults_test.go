package client_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/emulator"
	"github.com/knogin/argus-sandbox/emulator/faults"
)

// everyAction is one rule per action, every option and every match field
// that applies to it set.
func everyAction() []client.FaultRule {
	d := func(s string) client.Duration { v, _ := time.ParseDuration(s); return client.Duration(v) }
	p, n := 0.5, 10
	http := client.FaultMatch{Operation: "listApps", Path: "/v1/platform/apps", Method: "GET", Tenant: "acme", ClientID: "cli_x"}
	token := client.FaultMatch{Tenant: "acme", ClientID: "cli_x"}
	delivery := client.FaultMatch{Tenant: "acme", Endpoint: "wh_x", Topic: "case.*"}
	when := client.FaultWhen{Probability: &p, After: 1, First: 2, From: "1m", Until: "2030-01-01T00:00:00Z"}
	rules := []struct {
		match  client.FaultMatch
		action client.FaultAction
	}{
		{http, client.FaultAction{Latency: &client.FaultLatency{Fixed: d("1s"), Jitter: d("500ms")}}},
		{http, client.FaultAction{Error: &client.FaultErrorReply{Status: 429, RetryAfter: d("20s"), Limit: 50}}},
		{http, client.FaultAction{Reset: &client.FaultDisconnect{Processed: true}}},
		{http, client.FaultAction{EmptyReply: &client.FaultDisconnect{Processed: true}}},
		{http, client.FaultAction{Truncate: &client.FaultTruncate{Bytes: &n}}},
		{http, client.FaultAction{Malformed: &client.FaultNoOptions{}}},
		{http, client.FaultAction{SlowDrip: &client.FaultSlowDrip{ChunkBytes: 4, Interval: d("100ms")}}},
		{http, client.FaultAction{RotateKeys: &client.FaultRotateKeys{StaleJWKS: d("30s")}}},
		{http, client.FaultAction{StaleJWKS: &client.FaultStaleJWKS{For: d("1m")}}},
		{token, client.FaultAction{TokenExpiry: &client.FaultTokenExpiry{ExpiresIn: d("-1m")}}},
		{delivery, client.FaultAction{Duplicate: &client.FaultDuplicate{Copies: 3, Concurrent: true}}},
		{delivery, client.FaultAction{Reorder: &client.FaultReorder{Burst: 4}}},
		{delivery, client.FaultAction{Delay: &client.FaultDelay{For: d("1h")}}},
		{delivery, client.FaultAction{ResponseLost: &client.FaultNoOptions{}}},
		{delivery, client.FaultAction{BadSignature: &client.FaultNoOptions{}}},
		{delivery, client.FaultAction{StaleTimestamp: &client.FaultStaleTimestamp{By: d("10m")}}},
		{delivery, client.FaultAction{RotateSecret: &client.FaultNoOptions{}}},
		{delivery, client.FaultAction{TimestampOffset: &client.FaultTimestampOffset{By: d("-90s")}}},
		{delivery, client.FaultAction{Signature: &client.FaultSignature{Form: "unknown_version"}}},
		{delivery, client.FaultAction{Synthetic: &client.FaultSynthetic{Topic: "case.escalated", Data: map[string]any{"case": map[string]any{"status": "ESCALATED"}}}}},
	}
	var out []client.FaultRule
	for _, r := range rules {
		name, _ := r.action.Kind()
		out = append(out, client.FaultRule{Name: name, Description: "every option of " + name, Match: r.match, When: when, Action: r.action})
	}
	return out
}

// TestFaultRulesAreWhatTheSandboxReads: every action, with every option
// set, is accepted by the sandbox's own rule check (specs/faults.schema.json
// and the semantics), reads back into the fault engine's rule without
// losing a field, and is classified like the engine classifies it.
func TestFaultRulesAreWhatTheSandboxReads(t *testing.T) {
	for _, r := range everyAction() {
		t.Run(r.Name, func(t *testing.T) {
			raw, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			if issues := emulator.CheckFaultRule(raw); len(issues) > 0 {
				t.Fatalf("the sandbox refuses %s: %v", raw, issues)
			}
			var engine faults.Rule
			if err := json.Unmarshal(raw, &engine); err != nil {
				t.Fatal(err)
			}
			back, err := json.Marshal(engine)
			if err != nil {
				t.Fatal(err)
			}
			var got client.FaultRule
			if err := json.Unmarshal(back, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(r, got); diff != "" {
				t.Errorf("lost through the engine's rule (-sent +read back):\n%s", diff)
			}
			name, target := r.Action.Kind()
			engineName, engineTarget := engine.Action.Kind()
			if name != engineName || string(target) != string(engineTarget) {
				t.Errorf("Kind() = %s, %s; the engine says %s, %s", name, target, engineName, engineTarget)
			}
		})
	}
	if name, target := (client.FaultAction{}).Kind(); name != "" || target != "" {
		t.Errorf("Kind() of no action = %q, %q", name, target)
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    time.Duration
		wantErr bool
	}{
		{name: "go duration", in: `"1m30s"`, want: 90 * time.Second},
		{name: "negative", in: `"-5m"`, want: -5 * time.Minute},
		{name: "number", in: `90`, wantErr: true},
		{name: "not a duration", in: `"soon"`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d client.Duration
			err := json.Unmarshal([]byte(tt.in), &d)
			if (err != nil) != tt.wantErr || time.Duration(d) != tt.want {
				t.Fatalf("Unmarshal(%s) = %s, %v", tt.in, d, err)
			}
			if err == nil {
				out, _ := json.Marshal(d)
				if string(out) != `"`+tt.want.String()+`"` {
					t.Errorf("Marshal = %s", out)
				}
			}
		})
	}
}
