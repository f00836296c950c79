package faults_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/faults"
	"github.com/knogin/argus-sandbox/emulator/faults/storetest"
)

func TestMemoryStateStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) faults.SharedStateStore { return faults.NewMemoryStateStore() })
}
