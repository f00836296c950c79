package platform_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/platform"
	"github.com/knogin/argus-sandbox/emulator/platform/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(_ *testing.T, l platform.Limits) platform.Store { return platform.NewMemoryStore(l) })
}
