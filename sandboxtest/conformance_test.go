package sandboxtest_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
	"github.com/knogin/argus-sandbox/sandboxtest"
)

func TestRunConformance(t *testing.T) {
	tests := []struct {
		name       string
		bug        consumer.Bug
		wantFailed int
	}{
		{"correct consumer", consumer.BugNone, 0},
		{"no dedupe", consumer.BugNoDedupe, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			sb, err := sandboxtest.RunInProcess(ctx)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = sb.Terminate(context.Background()) })
			c := &conformance.InProcess{WebhookPath: consumer.WebhookPath, ProbePath: consumer.ProbePath,
				New: func(env conformance.Env) (http.Handler, io.Closer, error) {
					c, err := consumer.New(consumer.Config{Secret: env.Secret, StateDir: env.StateDir, Bug: tt.bug,
						Argus: &consumer.ArgusClient{BaseURL: env.BaseURL, ClientID: env.ClientID, ClientSecret: env.ClientSecret}})
					if err != nil {
						return nil, nil, err
					}
					return c.Handler(), c, nil
				}}
			rep, err := sb.RunConformance(ctx, conformance.Config{Consumer: c, StateDir: t.TempDir(),
				Run: "^(single-delivery|duplicate-sequential|response-lost)$"})
			if err != nil {
				t.Fatal(err)
			}
			passed, failed, unverified := rep.Counts()
			if passed+failed+unverified != 3 || failed != tt.wantFailed {
				t.Errorf("passed %d, failed %d, unverified %d; want %d failed of 3", passed, failed, unverified, tt.wantFailed)
			}
		})
	}
}
