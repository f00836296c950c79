package main

import (
	"strings"
	"testing"
)

// TestExecKillPointsAndRotation runs the scenarios that kill the consumer
// mid-work and hand it a new secret against the built consumer, a real
// process killed with SIGKILL and restarted with a new
// ARGUS_WEBHOOK_SECRET: the correct consumer passes both, and each broken
// variant fails its scenario for the reason named.
func TestExecKillPointsAndRotation(t *testing.T) {
	bin := buildConsumer(t)
	tests := []struct {
		name string
		bug  string
		want []string
	}{
		{name: "correct consumer", want: []string{"PASS       crash-before-answer", "PASS       crash-after-answer", "PASS       rotation-end"}},
		{name: "marked before applied", bug: "mark_before_apply", want: []string{"FAIL       crash-before-answer",
			"answered 2xx but never applied", "PASS       rotation-end"}},
		{name: "acknowledged, applied from memory", bug: "ack_then_apply", want: []string{"FAIL       crash-before-answer",
			"FAIL       crash-after-answer", "answered 2xx but never applied", "after it answered closed"}},
		{name: "pinned first secret", bug: "pinned_secret", want: []string{"PASS       crash-before-answer", "FAIL       rotation-end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ARGUS_CONSUMER_BUG", tt.bug)
			var stdout, stderr strings.Builder
			run([]string{"run", "--exec", bin, "--run", "^(crash-before-answer|crash-after-answer|rotation-end)$"}, &stdout, &stderr)
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("report lacks %q:\n%s\nstderr:\n%s", w, stdout.String(), stderr.String())
				}
			}
		})
	}
}
