package sandboxtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/client"
	"github.com/knogin/argus-sandbox/sandboxtest"
)

func TestControlPlaneInProcess(t *testing.T) {
	ctx := context.Background()
	sb, err := sandboxtest.RunInProcess(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Terminate(context.Background()) })
	controlPlane(t, sb)
}

// controlPlane exercises every control-plane helper against a running
// sandbox (the container module checks the same helpers against the image).
func controlPlane(t *testing.T, sb *sandboxtest.Sandbox) {
	ctx := context.Background()
	if err := sb.Health(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("advance clock", func(t *testing.T) {
		before, err := sb.Now(ctx)
		if err != nil {
			t.Fatal(err)
		}
		after, err := sb.AdvanceClock(ctx, 90*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if d := after.Sub(before); d < 90*time.Minute || d > 91*time.Minute {
			t.Errorf("clock moved by %s, want 1h30m", d)
		}
		if _, err := sb.AdvanceClock(ctx, -time.Second); err == nil {
			t.Error("AdvanceClock(-1s) succeeded, want an error")
		}
	})

	t.Run("trigger event", func(t *testing.T) {
		got := make(chan []byte, 10)
		rcv, err := sb.StartReceiver(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- b
		}))
		if err != nil {
			t.Fatal(err)
		}
		defer rcv.Close()
		var hook struct{ ID string }
		if err := call(ctx, sb, sb.AdminToken("acme"), "POST", "/v1/webhooks",
			map[string]any{"url": rcv.URL, "events": []string{"case.closed"}}, http.StatusCreated, &hook); err != nil {
			t.Fatal(err)
		}
		id, err := sb.TriggerEvent(ctx, "acme", "case.closed", map[string]any{"resolution": "Closed from the test."})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case b := <-got:
			var ev struct {
				ID, Type string
				Data     map[string]any
			}
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.ID != id || ev.Type != "case.closed" || ev.Data["resolution"] != "Closed from the test." {
				t.Errorf("delivered %s, want event %s of case.closed with the override", b, id)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the triggered event was not delivered within 10s")
		}
		if _, err := sb.TriggerEvent(ctx, "acme", "case.vanished", nil); !isProblem(err, http.StatusUnprocessableEntity) {
			t.Errorf("unknown topic: err = %v, want a 422 problem", err)
		}
	})

	t.Run("faults", func(t *testing.T) {
		tests := []struct {
			name       string
			rule       sandboxtest.FaultRule
			wantErr    int
			wantStatus int
		}{
			{"error reply", sandboxtest.FaultRule{Name: "apps-outage",
				Match:  client.FaultMatch{Path: "/v1/platform/apps", Method: "GET"},
				Action: client.FaultAction{Error: &client.FaultErrorReply{Status: 503}}}, 0, http.StatusServiceUnavailable},
			{"status outside the catalog", sandboxtest.FaultRule{Name: "teapot",
				Action: client.FaultAction{Error: &client.FaultErrorReply{Status: 418}}}, http.StatusBadRequest, http.StatusOK},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Cleanup(func() {
					if err := sb.ClearFaults(ctx); err != nil {
						t.Error(err)
					}
				})
				err := sb.AddFault(ctx, tt.rule)
				if tt.wantErr != 0 {
					if !isProblem(err, tt.wantErr) {
						t.Errorf("AddFault err = %v, want a %d problem", err, tt.wantErr)
					}
				} else if err != nil {
					t.Fatal(err)
				}
				if got := listApps(t, sb); got != tt.wantStatus {
					t.Errorf("GET apps with the rule: %d, want %d", got, tt.wantStatus)
				}
			})
		}
		if got := listApps(t, sb); got != http.StatusOK {
			t.Errorf("GET apps after ClearFaults: %d, want 200", got)
		}
		rule := sandboxtest.FaultRule{Name: "one-off", Match: client.FaultMatch{Path: "/v1/platform/apps", Method: "GET"},
			Action: client.FaultAction{Error: &client.FaultErrorReply{Status: 503}}}
		if err := sb.AddFault(ctx, rule); err != nil {
			t.Fatal(err)
		}
		if err := sb.RemoveFault(ctx, "one-off"); err != nil {
			t.Fatal(err)
		}
		if got := listApps(t, sb); got != http.StatusOK {
			t.Errorf("GET apps after RemoveFault: %d, want 200", got)
		}
		if err := sb.RemoveFault(ctx, "one-off"); !isProblem(err, http.StatusNotFound) {
			t.Errorf("removing a missing rule: %v, want a 404 problem", err)
		}
	})

	t.Run("reset", func(t *testing.T) {
		if _, err := sb.AdvanceClock(ctx, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
		if err := sb.Reset(ctx, false); err != nil {
			t.Fatal(err)
		}
		now, err := sb.Now(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(now); d < -time.Minute || d > time.Minute {
			t.Errorf("clock after reset is %s from real time, want real time", d)
		}
		var apps struct{ Data []any }
		if _, body := adminGet(t, sb, "acme", "/v1/platform/apps"); json.Unmarshal(body, &apps) != nil {
			t.Fatalf("apps list: %s", body)
		}
		if len(apps.Data) != 0 {
			t.Errorf("%d apps after reset, want the fixtures' none", len(apps.Data))
		}
	})
}

func TestOptions(t *testing.T) {
	dir := t.TempDir()
	faultsFile := filepath.Join(dir, "faults.yaml")
	if err := os.WriteFile(faultsFile, []byte("rules:\n  - name: apps-down\n    match: {path: /v1/platform/apps}\n    action: {error: {status: 502}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badFaults := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badFaults, []byte("rules:\n  - name: x\n    action: {error: {status: 418}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		opts       []sandboxtest.Option
		wantStatus int
		wantErr    []string
	}{
		{"defaults", nil, http.StatusOK, nil},
		{"faults file loaded at start", []sandboxtest.Option{sandboxtest.WithFaults(faultsFile), sandboxtest.WithSeed(7)}, http.StatusBadGateway, nil},
		{"every bad file reported together", []sandboxtest.Option{sandboxtest.WithFaults(badFaults), sandboxtest.WithFixtures(filepath.Join(dir, "missing"))},
			0, []string{"bad.yaml", "/rules/0/action/error/status", "missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, err := sandboxtest.RunInProcess(context.Background(), tt.opts...)
			if len(tt.wantErr) > 0 {
				if err == nil {
					sb.Terminate(context.Background())
					t.Fatal("started, want an error")
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer sb.Terminate(context.Background())
			if got := sb.AdminToken("globex"); got != "sandbox_admin_globex" {
				t.Errorf("AdminToken(globex) = %q", got)
			}
			if got := sb.AdminToken("initech"); got != "" {
				t.Errorf("AdminToken of an unknown tenant = %q, want empty", got)
			}
			if c := sb.Conformance(); c.BaseURL != sb.BaseURL() || c.OperatorToken == "" {
				t.Errorf("Conformance() = %+v", c)
			}
			if got := listApps(t, sb); got != tt.wantStatus {
				t.Errorf("GET apps: %d, want %d", got, tt.wantStatus)
			}
		})
	}
}

func isProblem(err error, status int) bool {
	var e *sandboxtest.Error
	return errors.As(err, &e) && e.Status == status && e.Code != ""
}

// listApps lists acme's apps as its administrator and returns the status.
func listApps(t *testing.T, sb *sandboxtest.Sandbox) int {
	t.Helper()
	status, _ := adminGet(t, sb, "acme", "/v1/platform/apps")
	return status
}

// adminGet GETs path as a tenant's administrator.
func adminGet(t *testing.T, sb *sandboxtest.Sandbox, tenant, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, sb.BaseURL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sb.AdminToken(tenant))
	resp, err := sb.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}
