package webhooks_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
	"github.com/knogin/argus-sandbox/emulator/webhooks/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(_ *testing.T, l storetest.Limits) webhooks.Store {
		return webhooks.NewMemoryStore(l.Retention, l.WebhooksPerTenant)
	})
}
