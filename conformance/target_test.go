package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/knogin/argus-sandbox/conformance"
	"github.com/knogin/argus-sandbox/examples/consumer"
)

const targetSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// startTarget serves the correct reference consumer as an integrator runs
// it: configured before the run, calling back into argus when given.
func startTarget(t *testing.T, argus *consumer.ArgusClient) *conformance.Target {
	t.Helper()
	c, err := consumer.New(consumer.Config{Secret: targetSecret, StateDir: t.TempDir(), Argus: argus})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(func() { srv.Close(); _ = c.Close() })
	return &conformance.Target{URL: srv.URL + consumer.WebhookPath, Probe: srv.URL + consumer.ProbePath}
}

// registerApp registers a client_credentials app on a sandbox, as the
// integrator does before configuring the consumer.
func registerApp(t *testing.T, base string) (id, secret string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": "My connector", "grant_types": []string{"client_credentials"},
		"requested_scopes": []string{"cases:read", "cases:write"}})
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/platform/apps", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer sandbox_admin_acme")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if resp.StatusCode != http.StatusCreated || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("register app: %s", resp.Status)
	}
	return out.ClientID, out.ClientSecret
}

func statuses(rep *conformance.Report) map[string]string {
	out := map[string]string{}
	for _, s := range rep.Scenarios {
		out[s.Name] = string(s.Status)
		for _, c := range s.Checks {
			if c.Level == conformance.LevelPlatform {
				out[s.Name+" notes"] = string(c.Status)
			}
		}
	}
	return out
}

// TestTargetCallbacks runs the callback scenarios against a running
// consumer: without its own app on a --sandbox they are unverified (never
// failed, never waiting out the scenario timeout); with it, fault rules
// reach its calls and they pass.
func TestTargetCallbacks(t *testing.T) {
	const callbackScenarios = "^(consumer-error-retry|consumer-timeout-retry|response-lost)$"
	t.Run("embedded sandbox, consumer not configured with it", func(t *testing.T) {
		var notice bytes.Buffer
		start := time.Now()
		rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: startTarget(t, nil), Secret: targetSecret,
			Run: callbackScenarios, ScenarioTimeout: 20 * time.Second, Notice: &notice})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"consumer-error-retry": "unverified", "consumer-timeout-retry": "unverified",
			"response-lost": "unverified", "response-lost notes": "unverified"}
		if diff := cmp.Diff(want, statuses(rep)); diff != "" {
			t.Errorf("verdicts (-want +got):\n%s", diff)
		}
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("run took %s: a scenario waited for a callback that cannot come", d)
		}
		if !contains(notice.String(), rep.Sandbox) || rep.Sandbox == "" {
			t.Errorf("notice %q does not name the sandbox %q", notice.String(), rep.Sandbox)
		}
	})
	t.Run("remote sandbox, consumer's own app", func(t *testing.T) {
		rs := startRemote(t)
		id, secret := registerApp(t, rs.URL)
		target := startTarget(t, &consumer.ArgusClient{BaseURL: rs.URL, ClientID: id, ClientSecret: secret})
		var notice bytes.Buffer
		rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: target, Secret: targetSecret,
			Sandbox: rs, ClientID: id, ClientSecret: secret, Run: callbackScenarios, ScenarioTimeout: 30 * time.Second, Notice: &notice})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"consumer-error-retry": "pass", "consumer-error-retry notes": "pass",
			"consumer-timeout-retry": "pass", "consumer-timeout-retry notes": "pass", "response-lost": "pass", "response-lost notes": "pass"}
		if diff := cmp.Diff(want, statuses(rep)); diff != "" {
			var b bytes.Buffer
			_ = rep.WriteText(&b)
			t.Errorf("verdicts (-want +got):\n%s\n%s", diff, b.String())
		}
		if rep.ClientID != id || !contains(notice.String(), id) {
			t.Errorf("report client %q, notice %q: want the consumer's client %s", rep.ClientID, notice.String(), id)
		}
	})
}

// appCount counts the apps of acme on a sandbox.
func appCount(t *testing.T, base string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/platform/apps?limit=100", nil)
	req.Header.Set("Authorization", "Bearer sandbox_admin_acme")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data []json.RawMessage `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("list apps: %s", resp.Status)
	}
	return len(out.Data)
}

// TestSharedSandboxKeepsNoApps: a run against a shared sandbox deletes the
// apps it registered (the consumer's and its observer).
func TestSharedSandboxKeepsNoApps(t *testing.T) {
	rs := startRemote(t)
	before := appCount(t, rs.URL)
	rep, err := conformance.Run(context.Background(), conformance.Config{Consumer: inProcess(consumer.BugNone),
		StateDir: t.TempDir(), Sandbox: rs, Run: "^single-delivery$"})
	if err != nil {
		t.Fatal(err)
	}
	if got := failing(rep); len(got) > 0 {
		t.Errorf("not passed: %v", got)
	}
	if after := appCount(t, rs.URL); after != before {
		t.Errorf("the sandbox has %d apps after the run, %d before", after, before)
	}
}
