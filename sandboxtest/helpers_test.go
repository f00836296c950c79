package sandboxtest_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
	"github.com/knogin/argus-sandbox/sandboxtest"
)

// TestNewTerminatesOnCleanup: the sandbox New starts for a subtest no
// longer answers once that subtest has ended.
func TestNewTerminatesOnCleanup(t *testing.T) {
	var sb *sandboxtest.Sandbox
	t.Run("user", func(t *testing.T) {
		sb = sandboxtest.New(t)
		if err := sb.Health(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
	if err := sb.Health(context.Background()); err == nil {
		t.Error("the sandbox still answers after its test ended")
	}
}

// TestIntegratorHelpers: the steps integrators wrote by hand (register an
// app, get a token, subscribe a receiver with their own secret, wait for
// deliveries) deliver one event, signed with that secret.
func TestIntegratorHelpers(t *testing.T) {
	ctx := t.Context()
	sb := sandboxtest.New(t, sandboxtest.WithSeed(1))

	app, err := sb.RegisterApp(ctx, "acme", "webhooks:read")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := sb.Token(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sb.Client().With(client.WithToken(tok)).Webhooks().List(ctx, client.ListOptions{}); err != nil {
		t.Errorf("the token does not list webhooks: %v", err)
	}
	if _, err := sb.RegisterApp(ctx, "initech"); err == nil || !strings.Contains(err.Error(), "initech") {
		t.Errorf("RegisterApp(unknown tenant) = %v, want an error naming it", err)
	}

	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	rcv, err := sb.StartReceiver(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer rcv.Close()
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a secret the consumer chose!"))
	hook, err := sb.Subscribe(ctx, "acme", rcv.URL+"/hook", secret, "case.closed")
	if err != nil {
		t.Fatal(err)
	}
	if hook.Secret != secret {
		t.Errorf("webhook secret = %q, want the chosen %q", hook.Secret, secret)
	}
	if _, err := sb.TriggerEvent(ctx, "acme", "case.closed", nil); err != nil {
		t.Fatal(err)
	}
	// No waiting on a channel: WaitIdle returns once the delivery is done.
	if err := sb.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d deliveries after WaitIdle, want 1", len(got))
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(bodies[0], got[0].Header); err != nil {
		t.Errorf("delivery not signed with the chosen secret: %v", err)
	}
}

// TestFaultBuilders: every builder makes a rule the sandbox accepts, and
// the error rule shapes the reply it names.
func TestFaultBuilders(t *testing.T) {
	ctx := t.Context()
	sb := sandboxtest.New(t)
	token := client.FaultMatch{Operation: "token"}
	deliveries := client.FaultMatch{Topic: "case.*"}
	tests := []struct {
		name string
		rule sandboxtest.FaultRule
		kind string
	}{
		{"error", sandboxtest.ErrorFault("e", token, 503), "error"},
		{"latency", sandboxtest.LatencyFault("l", client.FaultMatch{Operation: "listApps"}, client.Duration(1)), "latency"},
		{"duplicate", sandboxtest.DuplicateFault("d", deliveries, 3), "duplicate"},
		{"response lost", sandboxtest.ResponseLostFault("r", deliveries), "response_lost"},
		{"bad signature", sandboxtest.BadSignatureFault("b", deliveries), "bad_signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if kind, _ := tt.rule.Action.Kind(); kind != tt.kind {
				t.Errorf("action %q, want %q", kind, tt.kind)
			}
			if err := sb.AddFault(ctx, tt.rule); err != nil {
				t.Errorf("the sandbox refused the rule: %v", err)
			}
		})
	}
	_, err := sb.Client().OAuth().ClientCredentials(ctx, client.Credentials{ClientID: "cli_any", ClientSecret: "x"})
	var refused *sandboxtest.Error
	if !errors.As(err, &refused) || refused.Status != http.StatusServiceUnavailable {
		t.Errorf("token with ErrorFault(503): %v, want a 503", err)
	}
}

// TestRunT: each scenario the runner ran is a subtest of its own name.
func TestRunT(t *testing.T) {
	sb := sandboxtest.New(t)
	c := &conformance.InProcess{WebhookPath: consumer.WebhookPath, ProbePath: consumer.ProbePath,
		New: func(env conformance.Env) (http.Handler, io.Closer, error) {
			c, err := consumer.New(consumer.Config{Secret: env.Secret, StateDir: env.StateDir,
				Argus: &consumer.ArgusClient{BaseURL: env.BaseURL, ClientID: env.ClientID, ClientSecret: env.ClientSecret}})
			if err != nil {
				return nil, nil, err
			}
			return c.Handler(), c, nil
		}}
	var ran []string
	t.Run("conformance", func(t *testing.T) {
		rep := sb.RunT(t, conformance.Config{Consumer: c, StateDir: t.TempDir(), Run: "^(single-delivery|duplicate-sequential)$"})
		for _, r := range rep.Scenarios {
			ran = append(ran, r.Name)
		}
	})
	if got := strings.Join(ran, ","); got != "single-delivery,duplicate-sequential" && got != "duplicate-sequential,single-delivery" {
		t.Errorf("scenarios run as subtests: %q", got)
	}
}
