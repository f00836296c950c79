package sqlstore_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/platform"
	"github.com/knogin/argus-sandbox/emulator/platform/storetest"
)

func TestPlatformStore(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T, limits platform.Limits) platform.Store {
				return e.open(t).Platform(limits)
			})
		})
	}
}
