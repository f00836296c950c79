package oauth_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/oauth"
	"github.com/knogin/argus-sandbox/emulator/oauth/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) oauth.Store { return oauth.NewMemoryStore() })
}
