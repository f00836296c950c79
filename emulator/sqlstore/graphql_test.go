package sqlstore_test

import (
	"testing"

	"github.com/knogin/argus-sandbox/emulator/graphql"
	"github.com/knogin/argus-sandbox/emulator/graphql/storetest"
)

func TestGraphQLStore(t *testing.T) {
	for _, e := range engines(t) {
		t.Run(e.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) graphql.Store { return e.open(t).GraphQL() })
		})
	}
}
