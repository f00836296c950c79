package tenants_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/emulator/tenants/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) tenants.Store { return tenants.NewMemoryStore() })
}
