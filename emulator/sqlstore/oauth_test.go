package sqlstore_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/oauth"
	"github.com/knogin/argus-sandbox/emulator/oauth/storetest"
)

func TestOAuthStore(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) oauth.Store { return e.open(t).OAuth() })
		})
	}
}

func TestKeyStore(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			storetest.RunKeys(t, func(t *testing.T) oauth.SharedKeyStore { return e.open(t).Keys() })
		})
	}
}
