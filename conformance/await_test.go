package conformance_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

// TestAwaitFaultGivesUpOnceDeliveriesSettle: a step that awaits a fault
// rule the consumer never triggers (here: a platform call the reference
// consumer does not make) fails as soon as the deliveries are settled,
// naming the rule, instead of waiting out the scenario timeout.
func TestAwaitFaultGivesUpOnceDeliveriesSettle(t *testing.T) {
	suite := fstest.MapFS{"never-fires.yaml": {Data: []byte(`name: never-fires
title: t
detects: d
why: w
requires: [callback]
faults:
  - name: apps-down
    match: {operation: getApp}
    action: {error: {status: 503}}
steps:
  - publish: {as: closed, topic: case.closed, case: case_acme_1004, await_fault: apps-down}
expect:
  applied: {closed: 1}
`)}}
	const timeout = 20 * time.Second
	start := time.Now()
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone),
		StateDir: t.TempDir(), Scenarios: suite, ScenarioTimeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > timeout/2 {
		t.Errorf("run took %s: the await did not give up when deliveries settled", d)
	}
	if len(rep.Scenarios) != 1 {
		t.Fatalf("scenarios: %+v", rep.Scenarios)
	}
	s := rep.Scenarios[0]
	var details []string
	for _, c := range s.Checks {
		details = append(details, c.Name+": "+c.Detail)
	}
	all := s.Reason + " " + strings.Join(details, " ")
	if s.Status != conformance.StatusFail || !strings.Contains(all, "apps-down") || !strings.Contains(all, "settled") {
		t.Errorf("status %s, detail %q: want a failure naming the rule and that deliveries settled", s.Status, all)
	}
}
