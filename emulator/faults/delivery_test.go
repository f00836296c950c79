package faults

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/knogin/argus-sandbox/emulator/core"
)

func newEngine(t *testing.T, rules ...Rule) (*Engine, *core.VirtualClock) {
	t.Helper()
	clock := core.NewVirtualClock(nil)
	clock.Freeze()
	t.Cleanup(clock.Close)
	e, err := New(Config{Clock: clock, IDs: core.NewIDs(nil), Seed: 1, Rules: rules, Keys: &fakeKeys{}})
	if err != nil {
		t.Fatal(err)
	}
	return e, clock
}

func TestDeliveryActions(t *testing.T) {
	info := DeliveryInfo{Tenant: "acme", EndpointID: "wh_1", EndpointURL: "https://hooks.acme.example/argus", Topic: "case.updated", EventID: "evt_1", DeliveryID: "dlv_1", Attempt: 1}
	tests := []struct {
		name  string
		rules []Rule
		want  DeliveryPlan
	}{
		{"no rule", nil, DeliveryPlan{Copies: 1}},
		{"duplicate sequential", []Rule{rule("d", Match{}, When{}, Action{Duplicate: &Duplicate{Copies: 3}})}, DeliveryPlan{Copies: 3}},
		{"duplicate concurrent default copies", []Rule{rule("d", Match{}, When{}, Action{Duplicate: &Duplicate{Concurrent: true}})}, DeliveryPlan{Copies: 2, Concurrent: true}},
		{"reorder", []Rule{rule("r", Match{}, When{}, Action{Reorder: &Reorder{Burst: 4}})}, DeliveryPlan{Copies: 1, HoldForReorder: 4}},
		{"delay", []Rule{rule("w", Match{}, When{}, Action{Delay: &Delay{For: Duration(time.Minute)}})}, DeliveryPlan{Copies: 1, Delay: time.Minute}},
		{"response lost", []Rule{rule("l", Match{}, When{}, Action{ResponseLost: &NoOptions{}})}, DeliveryPlan{Copies: 1, ResponseLost: true}},
		{"bad signature", []Rule{rule("s", Match{}, When{}, Action{BadSignature: &NoOptions{}})}, DeliveryPlan{Copies: 1, BadSignature: true}},
		{"stale timestamp default", []Rule{rule("t", Match{}, When{}, Action{StaleTimestamp: &StaleTimestamp{}})}, DeliveryPlan{Copies: 1, StaleTimestamp: DefaultStaleTimestamp}},
		{"timestamp offsets add up", []Rule{
			rule("p", Match{}, When{}, Action{TimestampOffset: &TimestampOffset{By: Duration(-90 * time.Second)}}),
			rule("f", Match{}, When{}, Action{TimestampOffset: &TimestampOffset{By: Duration(10 * time.Minute)}}),
		}, DeliveryPlan{Copies: 1, TimestampOffset: 510 * time.Second}},
		{"first signature form wins", []Rule{
			rule("a", Match{}, When{}, Action{Signature: &Signature{Form: SignatureMissing}}),
			rule("b", Match{}, When{}, Action{Signature: &Signature{Form: SignatureIDSwapped}}),
		}, DeliveryPlan{Copies: 1, Signature: SignatureMissing}},
		{"rotate secret", []Rule{rule("k", Match{}, When{}, Action{RotateSecret: &NoOptions{}})}, DeliveryPlan{Copies: 1, RotateSecret: true}},
		{"rules combine", []Rule{
			rule("a", Match{}, When{}, Action{Delay: &Delay{For: Duration(time.Second)}}),
			rule("b", Match{}, When{}, Action{Delay: &Delay{For: Duration(2 * time.Second)}}),
			rule("c", Match{}, When{}, Action{Duplicate: &Duplicate{Copies: 2}}),
			rule("d", Match{}, When{}, Action{Duplicate: &Duplicate{Copies: 4}}),
			rule("e", Match{}, When{}, Action{BadSignature: &NoOptions{}}),
		}, DeliveryPlan{Copies: 4, Delay: 3 * time.Second, BadSignature: true}},
		{"matched by endpoint id", []Rule{rule("m", Match{Endpoint: "wh_1"}, When{}, Action{BadSignature: &NoOptions{}})}, DeliveryPlan{Copies: 1, BadSignature: true}},
		{"matched by endpoint URL", []Rule{rule("m", Match{Endpoint: "https://hooks.acme.example/argus"}, When{}, Action{BadSignature: &NoOptions{}})}, DeliveryPlan{Copies: 1, BadSignature: true}},
		{"matched by topic prefix", []Rule{rule("m", Match{Topic: "case.*", Tenant: "acme"}, When{}, Action{BadSignature: &NoOptions{}})}, DeliveryPlan{Copies: 1, BadSignature: true}},
		{"other endpoint", []Rule{rule("m", Match{Endpoint: "wh_2"}, When{}, Action{BadSignature: &NoOptions{}})}, DeliveryPlan{Copies: 1}},
		{"other topic", []Rule{rule("m", Match{Topic: "case.created"}, When{}, Action{BadSignature: &NoOptions{}})}, DeliveryPlan{Copies: 1}},
		{"other tenant", []Rule{rule("m", Match{Tenant: "globex"}, When{}, Action{BadSignature: &NoOptions{}})}, DeliveryPlan{Copies: 1}},
		{"request rules ignore deliveries", []Rule{rule("h", Match{}, When{}, Action{Error: &ErrorReply{Status: 500}})}, DeliveryPlan{Copies: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newEngine(t, tt.rules...)
			got := e.MatchDelivery(info)
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(DeliveryPlan{}, "Fired")); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			// Every rule of a case that changes the plan fires; none otherwise.
			var wantRules []string
			if !cmp.Equal(tt.want, DeliveryPlan{Copies: 1}, cmpopts.IgnoreFields(DeliveryPlan{}, "Fired")) {
				for _, r := range tt.rules {
					wantRules = append(wantRules, r.Name)
				}
			}
			if diff := cmp.Diff(wantRules, got.Rules(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("fired rules (-want +got):\n%s", diff)
			}
			for _, ev := range got.Fired {
				if ev.DeliveryID != "dlv_1" || ev.EventID != "evt_1" || ev.Attempt != 1 || ev.Target != TargetDelivery || ev.Detail == "" {
					t.Errorf("firing does not describe the delivery: %+v", ev)
				}
			}
			if n := len(firings(t, e, EventFilter{})); n != len(got.Fired) {
				t.Errorf("recorded %d firings, plan lists %d", n, len(got.Fired))
			}
		})
	}
}

func TestTokenExpiry(t *testing.T) {
	tests := []struct {
		name   string
		rule   Rule
		info   TokenInfo
		wantOK bool
		want   time.Duration
	}{
		{"expiring early", rule("early", Match{Tenant: "acme"}, When{}, Action{TokenExpiry: &TokenExpiry{ExpiresIn: Duration(5 * time.Second)}}), TokenInfo{Tenant: "acme"}, true, 5 * time.Second},
		{"already expired", rule("expired", Match{ClientID: "app_1"}, When{}, Action{TokenExpiry: &TokenExpiry{ExpiresIn: Duration(-time.Minute)}}), TokenInfo{Tenant: "acme", ClientID: "app_1"}, true, -time.Minute},
		{"other client", rule("expired", Match{ClientID: "app_1"}, When{}, Action{TokenExpiry: &TokenExpiry{}}), TokenInfo{ClientID: "app_2"}, false, 0},
		{"other tenant", rule("early", Match{Tenant: "acme"}, When{}, Action{TokenExpiry: &TokenExpiry{}}), TokenInfo{Tenant: "globex"}, false, 0},
		{"delivery rules ignore tokens", rule("d", Match{}, When{}, Action{BadSignature: &NoOptions{}}), TokenInfo{}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, _ := newEngine(t, tt.rule)
			got, ok := e.MatchToken(tt.info)
			if ok != tt.wantOK || got.ExpiresIn != tt.want {
				t.Fatalf("MatchToken = %v, %v; want %v, %v", got.ExpiresIn, ok, tt.want, tt.wantOK)
			}
			if ok && (got.Fired.Rule != tt.rule.Name || got.Fired.Target != TargetToken) {
				t.Errorf("firing = %+v", got.Fired)
			}
		})
	}
}

func TestRuleLifecycle(t *testing.T) {
	start := rule("start", Match{}, When{}, Action{TokenExpiry: &TokenExpiry{}})
	e, _ := newEngine(t, start)
	added, err := e.Add(rule("later", Match{Tenant: "acme"}, When{Until: "1m"}, Action{BadSignature: &NoOptions{}}))
	if err != nil {
		t.Fatal(err)
	}
	if added.Target != TargetDelivery || added.ActiveUntil == nil || !added.ActiveUntil.Equal(added.LoadedAt.Add(time.Minute)) {
		t.Errorf("added = %+v, want a delivery rule active for a minute", added)
	}
	if _, err := e.Add(start); !errors.Is(err, ErrExists) {
		t.Errorf("adding a taken name: %v, want ErrExists", err)
	}
	var verr *ValidationError
	if _, err := e.Add(rule("bad", Match{Topic: "x"}, When{}, Action{Malformed: &NoOptions{}})); !errors.As(err, &verr) {
		t.Errorf("adding an invalid rule: %v, want a ValidationError", err)
	}
	e.MatchToken(TokenInfo{})
	e.MatchToken(TokenInfo{})
	st, err := e.Rule("start")
	if err != nil || st.Matched != 2 || st.Fired != 2 {
		t.Errorf("Rule(start) = %+v, %v; want 2 matched, 2 fired", st, err)
	}
	if names := ruleNames(e.Rules()); !cmp.Equal(names, []string{"start", "later"}) {
		t.Errorf("rules = %v", names)
	}
	if err := e.Delete("start"); err != nil {
		t.Fatal(err)
	}
	if err := e.Delete("start"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	if _, err := e.Rule("start"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Rule after delete: %v, want ErrNotFound", err)
	}
	if n := len(firings(t, e, EventFilter{Rule: "start"})); n != 2 {
		t.Errorf("deleting a rule dropped its %d firings", 2-n)
	}
	if n := len(firings(t, e, EventFilter{Rule: "start", Limit: 1})); n != 1 {
		t.Errorf("limit 1 gave %d firings", n)
	}
	e.Clear()
	if n := len(e.Rules()); n != 0 {
		t.Errorf("%d rules after Clear", n)
	}
	e.Reset()
	if names := ruleNames(e.Rules()); !cmp.Equal(names, []string{"start"}) {
		t.Errorf("after Reset rules = %v, want the start rules", names)
	}
	if st, _ := e.Rule("start"); st.Matched != 0 || len(firings(t, e, EventFilter{})) != 0 {
		t.Errorf("Reset kept counters or firings: %+v", st)
	}
}

func TestEventLogIsBounded(t *testing.T) {
	clock := core.NewVirtualClock(nil)
	defer clock.Close()
	e, err := New(Config{Clock: clock, IDs: core.NewIDs(nil), MaxEvents: 3, Rules: []Rule{rule("r", Match{}, When{}, Action{TokenExpiry: &TokenExpiry{}})}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 5 {
		p, _ := e.MatchToken(TokenInfo{})
		ids = append(ids, p.Fired.ID)
	}
	var got []string
	for _, ev := range firings(t, e, EventFilter{}) {
		got = append(got, ev.ID)
	}
	if diff := cmp.Diff(ids[2:], got); diff != "" {
		t.Errorf("kept firings (-want +got):\n%s", diff)
	}
}

func TestNewRefusesRulesItCannotHonour(t *testing.T) {
	_, err := New(Config{Clock: core.NewVirtualClock(nil), IDs: core.NewIDs(nil),
		Rules: []Rule{rule("rot", Match{}, When{}, Action{RotateKeys: &RotateKeys{}})}})
	var verr *ValidationError
	if !errors.As(err, &verr) || verr.Issues[0].Field != "/rules/0/action/rotate_keys" {
		t.Errorf("err = %v, want the rotate_keys field named", err)
	}
}

func TestCheckOperations(t *testing.T) {
	h := newHarness(t, []Rule{
		rule("known", Match{Operation: "getThing"}, When{}, Action{Malformed: &NoOptions{}}),
		rule("typo", Match{Operation: "getThings"}, When{}, Action{Malformed: &NoOptions{}}),
	})
	var verr *ValidationError
	if err := h.engine.CheckOperations(); !errors.As(err, &verr) || len(verr.Issues) != 1 || verr.Issues[0].Field != "/rules/1/match/operation" {
		t.Errorf("CheckOperations = %v, want only /rules/1/match/operation", err)
	}
	if _, err := h.engine.Add(rule("typo2", Match{Operation: "nope"}, When{}, Action{Malformed: &NoOptions{}})); !errors.As(err, &verr) {
		t.Errorf("Add with an unknown operation: %v, want a ValidationError", err)
	}
}

func ruleNames(st []RuleStatus) []string {
	var out []string
	for _, s := range st {
		out = append(out, s.Name)
	}
	return out
}
