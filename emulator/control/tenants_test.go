package control

import (
	"net/http"
	"testing"
)

// TestTenantEndpointsWithoutARegistry: a control plane built without a
// tenant registry answers its tenant endpoints 501 not_available, and the
// operations that take a tenant still work for fixture tenants.
func TestTenantEndpointsWithoutARegistry(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/_sandbox/tenants", `{"name":"Partner A"}`},
		{"GET", "/_sandbox/tenants", ""},
		{"GET", "/_sandbox/tenants/acme", ""},
		{"DELETE", "/_sandbox/tenants/acme", ""},
		{"POST", "/_sandbox/tenants/acme/tokens", `{"kind":"control"}`},
	} {
		status, _, body := e.do(c.method, c.path, "", c.body)
		if status != http.StatusNotImplemented || body["code"] != "not_available" {
			t.Errorf("%s %s = %d %v, want 501 not_available", c.method, c.path, status, body)
		}
	}
	if status, _, body := e.do("GET", "/_sandbox/clock?tenant=acme", "", ""); status != http.StatusOK || body["tenant"] != "acme" {
		t.Errorf("a fixture tenant's clock = %d %v", status, body)
	}
	if status, _, _ := e.do("GET", "/_sandbox/clock?tenant=nobody", "", ""); status != http.StatusNotFound {
		t.Errorf("an unknown tenant's clock = %d, want 404", status)
	}
}
