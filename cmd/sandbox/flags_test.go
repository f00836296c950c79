package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestOperatorTokenIsNeverEchoed checks every place a given operator token
// could surface: the usage text (defaults come from the environment), the
// start-up output and the logs.
func TestOperatorTokenIsNeverEchoed(t *testing.T) {
	t.Run("usage with the token in the environment", func(t *testing.T) {
		t.Setenv("ARGUS_SANDBOX_OPERATOR_TOKEN", "op_env_secret")
		var stdout, stderr lockedBuffer
		if code := run(t.Context(), []string{"--help"}, &stdout, &stderr); code != exitOK {
			t.Fatalf("--help exit code = %d", code)
		}
		if out := stdout.String(); strings.Contains(out, "op_env_secret") || !strings.Contains(out, "--operator-token") || stderr.String() != "" {
			t.Errorf("usage: %s (stderr %q)", out, stderr.String())
		}
	})
	t.Run("environment still sets the token", func(t *testing.T) {
		t.Setenv("ARGUS_SANDBOX_OPERATOR_TOKEN", "op_env_secret")
		o, err := parseFlags(nil, io.Discard, io.Discard)
		if err != nil || o.operatorToken != "op_env_secret" {
			t.Errorf("operator token = %q, %v", o.operatorToken, err)
		}
		if o, _ := parseFlags([]string{"--operator-token", "op_flag"}, io.Discard, io.Discard); o.operatorToken != "op_flag" {
			t.Errorf("the flag does not win over the environment: %q", o.operatorToken)
		}
	})
	for _, addr := range []string{"127.0.0.1:0", "0.0.0.0:0"} {
		t.Run("start-up on "+addr, func(t *testing.T) {
			s := startRun(t, "--addr", addr, "--log-level", "debug", "--operator-token", "op_given_secret")
			req, _ := http.NewRequest(http.MethodGet, s.base+"/_sandbox/clock", nil)
			req.Header.Set("Authorization", "Bearer op_given_secret")
			if status, _, body := do(t, req); status != http.StatusOK {
				t.Fatalf("control plane with the token: %d %v", status, body)
			}
			if out := strings.Join(s.stdout, "") + s.stderr.String(); strings.Contains(out, "op_given_secret") {
				t.Errorf("output shows the operator token: %s", out)
			}
		})
	}
	t.Run("a generated token is printed once", func(t *testing.T) {
		s := startRun(t, "--addr", "0.0.0.0:0", "--log-level", "error")
		if len(s.stdout) != 1 || !strings.Contains(s.stdout[0], "operator token for /_sandbox") {
			t.Errorf("stdout before the banner: %q", s.stdout)
		}
	})
}

// TestRequirePKCEFlag checks --require-pkce and its environment variable
// reach the emulator's config.
func TestRequirePKCEFlag(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  string
		args []string
		want bool
	}{
		{"default", "", nil, false},
		{"flag", "", []string{"--require-pkce"}, true},
		{"environment", "true", nil, true},
		{"flag wins", "true", []string{"--require-pkce=false"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ARGUS_SANDBOX_REQUIRE_PKCE", tt.env)
			o, err := parseFlags(tt.args, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := o.config(nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.RequirePKCE != tt.want {
				t.Errorf("RequirePKCE = %v, want %v", cfg.RequirePKCE, tt.want)
			}
		})
	}
}

func TestDeliveryLeaseFlag(t *testing.T) {
	for _, tt := range []struct {
		name    string
		env     string
		args    []string
		want    time.Duration
		wantErr string
	}{
		{"default", "", nil, 30 * time.Second, ""},
		{"flag", "", []string{"--delivery-lease", "2s"}, 2 * time.Second, ""},
		{"environment", "1500ms", nil, 1500 * time.Millisecond, ""},
		{"too short", "", []string{"--delivery-lease", "100ms"}, 0, "--delivery-lease 100ms: must be at least 300ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("ARGUS_SANDBOX_DELIVERY_LEASE", tt.env)
			o, err := parseFlags(tt.args, io.Discard, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := o.config(nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("config error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.DeliveryLease != tt.want {
				t.Errorf("DeliveryLease = %s, want %s", cfg.DeliveryLease, tt.want)
			}
		})
	}
}
