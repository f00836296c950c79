package sqlstore_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/webhooks"
	"github.com/knogin/argus-sandbox/emulator/webhooks/storetest"
)

func TestWebhooksStore(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, l storetest.Limits) webhooks.Store {
				return e.open(t).Webhooks(l.Retention, l.WebhooksPerTenant)
			})
		})
	}
}
