package sqlstore_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/emulator/tenants/storetest"
)

func TestTenantStore(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) tenants.Store { return e.open(t).Tenants() })
		})
	}
}
