package conformance_test

import (
	"context"
	"testing"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

// TestZeroValuePathsReachTheConsumer runs consumers configured without
// paths, as the README shows: the documented default paths are used, so
// deliveries reach the webhook handler and probe checks are verified.
func TestZeroValuePathsReachTheConsumer(t *testing.T) {
	zero := inProcess(consumer.BugNone)
	zero.WebhookPath, zero.ProbePath = "", ""
	target := startTarget(t, nil)
	target.Probe = conformance.DefaultProbePath
	tests := []struct {
		name     string
		consumer conformance.Consumer
		secret   string
	}{
		{name: "in-process without paths", consumer: zero},
		{name: "target with a probe path", consumer: target, secret: targetSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: tt.consumer, Secret: tt.secret,
				StateDir: t.TempDir(), Run: "^(single-delivery|duplicate-sequential)$"})
			if err != nil {
				t.Fatal(err)
			}
			if got := failing(rep); len(got) > 0 {
				var b []byte
				for _, s := range rep.Scenarios {
					for _, c := range s.Checks {
						b = append(b, (s.Name + " " + c.Name + ": " + c.Detail + "\n")...)
					}
				}
				t.Errorf("not passed: %v\n%s", got, b)
			}
		})
	}
}
