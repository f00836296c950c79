package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/knogin/argus-sandbox/client"
)

func TestCLITenants(t *testing.T) {
	env, _ := startCLISandbox(t)
	policy := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(policy, []byte(`{"approved_scopes":["cases:read"],"grant_types":["client_credentials"],"redirect_uri_patterns":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, env, "", "tenants", "create", "--id", "partner-a", "--name", "Partner A", "--policy", policy, "--self-review")
	wantRun(t, r, exitOK, "tenant partner-a (Partner A) created", "")
	tokens := regexp.MustCompile(`(?m)^  (admin|control) token: +(\S+)$`).FindAllStringSubmatch(r.stdout, -1)
	if len(tokens) != 2 {
		t.Fatalf("tenants create printed %q, want both tokens", r.stdout)
	}
	control := tokens[1][2]

	wantRun(t, runCLI(t, env, "", "tenants"), exitOK, "partner-a  Partner A", "")
	r = runCLI(t, env, "", "tenants", "list", "--json")
	var list []client.Tenant
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) < 3 || list[len(list)-1].ID != "partner-a" {
		t.Errorf("tenants list --json = %q (%v)", r.stdout, err)
	}
	wantRun(t, runCLI(t, env, "", "tenants", "show", "partner-a"), exitOK, "approved scopes: cases:read", "")
	wantRun(t, runCLI(t, env, "", "tenants", "create", "--id", "partner-a", "--name", "Again"), exitRuntime, "", "409 conflict")
	wantRun(t, runCLI(t, env, "", "tenants", "create", "--id", "x"), exitUsage, "", "--name is required")
	wantRun(t, runCLI(t, env, "", "tenants", "rotate", "partner-a", "root"), exitUsage, "", `"root" is not a token kind`)

	// The control token moves its tenant's clock alone.
	partner := map[string]string{"ARGUS_SANDBOX_URL": env["ARGUS_SANDBOX_URL"], "ARGUS_SANDBOX_OPERATOR_TOKEN": control}
	wantRun(t, runCLI(t, partner, "", "clock", "advance", "3h"), exitOK, "(tenant partner-a)", "")
	wantRun(t, runCLI(t, partner, "", "tenants", "show", "acme"), exitRuntime, "", "403 forbidden")
	// It reads and follows its own tenant's traffic, not another's.
	wantRun(t, runCLI(t, env, "", "clock"), exitOK, "", "") // an operator request: no tenant's
	r = runCLI(t, partner, "", "requests", "--json")
	var page client.RequestPage
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || len(page.Requests) == 0 {
		t.Fatalf("requests with the control token = %q (%v)", r.stdout, err)
	}
	for _, e := range page.Requests {
		if e.Tenant != "partner-a" {
			t.Errorf("the control token's journal holds a request of %q: %s %s", e.Tenant, e.Method, e.Path)
		}
	}
	wantRun(t, runCLI(t, partner, "", "requests", "--tenant", "acme"), exitRuntime, "", "403 forbidden")
	wantRun(t, runCLI(t, partner, "", "tail", "--tenant", "acme", "--count", "1"), exitRuntime, "", "403 forbidden")
	r = runCLI(t, env, "", "clock", "--tenant", "partner-a", "--json")
	var st client.ClockState
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Tenant != "partner-a" || time.Until(st.Now) < 2*time.Hour {
		t.Errorf("clock --tenant partner-a = %q (%v), want 3h ahead", r.stdout, err)
	}
	wantRun(t, runCLI(t, env, "", "clock"), exitOK, " running offset 0s", "")

	r = runCLI(t, env, "", "tenants", "rotate", "partner-a", "control")
	wantRun(t, r, exitOK, "new control token of tenant partner-a", "")
	if strings.Contains(r.stdout, control) {
		t.Errorf("rotate printed the old token: %q", r.stdout)
	}
	wantRun(t, runCLI(t, partner, "", "clock"), exitRuntime, "", "401")
	wantRun(t, runCLI(t, env, "", "tenants", "delete", "partner-a"), exitOK, "tenant partner-a deleted", "")
	wantRun(t, runCLI(t, env, "", "tenants", "show", "partner-a"), exitRuntime, "", "404 not_found")
}
