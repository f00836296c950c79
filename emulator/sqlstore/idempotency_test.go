package sqlstore_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/idempotency"
	"github.com/knogin/argus-sandbox/emulator/idempotency/storetest"
)

func TestIdempotencyStore(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) idempotency.Store { return e.open(t).Idempotency() })
		})
	}
}
