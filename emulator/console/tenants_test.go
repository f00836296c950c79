package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/knogin/argus-sandbox/client"
)

// TestConsoleShowsTenantsCreatedAtRunTime: a tenant created at run time is
// in the picker with its request journal and live stream; its admin pages
// say why they are not available, since the console never holds its
// admin token.
func TestConsoleShowsTenantsCreatedAtRunTime(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	created, err := e.api.Sandbox().CreateTenant(ctx, client.TenantCreate{ID: "partner-a", Name: "Partner A"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.api.With(client.WithToken(created.AdminToken)).Platform().ListApps(ctx, client.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.signIn(operatorToken)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"", []string{"Partner A <code>partner-a</code>", "/_sandbox/console/requests?tenant=partner-a",
			"/_sandbox/console/stream?tenant=partner-a", "/_sandbox/console/t/acme/apps"}},
		{"requests?tenant=partner-a", []string{`<option value="partner-a" selected>`, "<td>listApps</td>"}},
		{"stream?tenant=partner-a", []string{`data-source="/_sandbox/console/stream?tenant=partner-a"`}},
		{"faults", []string{`<option value="partner-a">`}},
	} {
		p := b.get(tc.path)
		if p.status != http.StatusOK {
			t.Errorf("GET %s: %d\n%s", tc.path, p.status, p.body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(p.body, w) {
				t.Errorf("GET %s lacks %s", tc.path, w)
			}
		}
	}
	if p := b.get(""); strings.Contains(p.body, "/_sandbox/console/t/partner-a/") {
		t.Error("the overview links admin pages of a tenant whose admin token the console does not hold")
	}
	if p := b.get("t/partner-a/apps"); p.status != http.StatusForbidden || !strings.Contains(p.body, "no admin token") {
		t.Errorf("the apps page of a runtime tenant: %d, want 403 saying why", p.status)
	}
	if p := b.get("requests?tenant=partner-b"); p.status != http.StatusNotFound {
		t.Errorf("the journal of a tenant that does not exist: %d, want 404", p.status)
	}
}
