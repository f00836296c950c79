package emulator

import (
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/tenants"
	"github.com/knogin/argus-sandbox/emulator/webhooks"
)

// SurfaceAPI gives the external tests a surface's API built on doc, so
// they can mount it with handlers of their own ("graphql" or "oauth").
func (sb *Sandbox) SurfaceAPI(name string, doc *openapi3.T) core.API {
	switch name {
	case "graphql":
		return sb.graphql.API(doc)
	case "oauth":
		return sb.oauth.API(doc)
	}
	panic("emulator: no surface API " + name)
}

// Webhooks and Clock give the external tests the delivery engine and the
// sandbox clock, to publish and read time without a round trip.
func (sb *Sandbox) Webhooks() *webhooks.Service { return sb.webhooks }

// Clock is the sandbox clock (see Webhooks).
func (sb *Sandbox) Clock() *core.VirtualClock { return sb.clock }

// Tenants is the tenant registry, to create a tenant with what the
// control plane's wire form does not carry.
func (sb *Sandbox) Tenants() *tenants.Registry { return sb.tenants }

// RoundTrips is how many statements a durable sandbox has sent to its
// database (sqlstore.DB.RoundTrips); 0 in memory.
func (sb *Sandbox) RoundTrips() int64 {
	if sb.db == nil {
		return 0
	}
	return sb.db.RoundTrips()
}

// Reloads counts what a replica on PostgreSQL reloaded because another
// changed it: the clocks and tenants, the signing keys, the fault rules
// (zero for a sandbox of one process).
func (sb *Sandbox) Reloads() [3]int64 {
	if sb.replicas == nil {
		return [3]int64{}
	}
	r := &sb.replicas.reloads
	return [3]int64{r[0].Load(), r[1].Load(), r[2].Load()}
}
