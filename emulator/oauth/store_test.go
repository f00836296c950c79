package oauth_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/oauth"
	"github.com/knogin/argus-sandbox/emulator/oauth/storetest"
)

func TestMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) oauth.Store { return oauth.NewMemoryStore() })
}

func TestMemoryKeyStore(t *testing.T) {
	storetest.RunKeys(t, func(*testing.T) oauth.SharedKeyStore { return oauth.NewMemoryKeyStore() })
}
