package journal_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/journal"
	"github.com/knogin/argus-sandbox/emulator/journal/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(_ *testing.T, size int) journal.Store { return journal.NewMemory(size) })
}
