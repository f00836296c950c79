package sqlstore_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/emulator/faults/storetest"
)

func TestFaultStateStore(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) faults.SharedStateStore { return e.open(t).Faults() })
		})
	}
}
