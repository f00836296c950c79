// Package graphql is the sandbox's GraphQL transport (POST /v1/graphql):
// bearer-authenticated, tenant-scoped, without introspection or operation
// inventories, with curated partner bundles callable only as persisted
// operations. Documents are parsed and validated with gqlparser against the
// SDL of specs/ and run by this package's executor.
package graphql

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
	"github.com/vektah/gqlparser/v2/ast"
)

// EventPublisher emits webhook events; the webhooks engine implements it.
type EventPublisher interface {
	Publish(ctx context.Context, tenant, topic string, data map[string]any) (eventID string, err error)
}

// Capabilities tells whether a tenant holds a reviewed-access capability
// (an approved access request); the platform implements it.
type Capabilities interface {
	TenantHasCapability(ctx context.Context, tenant, capability string) bool
}

// AuditRecord is one entry of a tenant's audit trail, as the auditExport
// partner operation returns it.
type AuditRecord struct {
	ID         string
	Action     string
	Actor      string
	Target     string
	OccurredAt time.Time
}

// AuditLog returns a tenant's audit trail, oldest first; the lead adapts the
// platform's audit log to it.
type AuditLog interface {
	AuditRecords(ctx context.Context, tenant string, since time.Time) ([]AuditRecord, error)
}

// Limits bound what one request may ask for; each is refused with
// QUERY_TOO_COMPLEX before execution. Zero fields take the defaults.
type Limits struct {
	// MaxDocumentBytes bounds the query text (default 8192).
	MaxDocumentBytes int
	// MaxTokens is the parser's token limit (default 1000).
	MaxTokens int
	// MaxDepth bounds field nesting, the root fields being depth 1
	// (default 10).
	MaxDepth int
	// MaxCost bounds the estimated work: each field costs 1 and a field
	// with a first argument multiplies the cost of its selections by it
	// (default 5000).
	MaxCost int
	// MaxAliases bounds the aliased fields of an operation (default 20).
	MaxAliases int
}

// DefaultLimits are the limits of the real transport.
var DefaultLimits = Limits{MaxDocumentBytes: 8192, MaxTokens: 1000, MaxDepth: 10, MaxCost: 5000, MaxAliases: 20}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxDocumentBytes > 0 {
		d.MaxDocumentBytes = l.MaxDocumentBytes
	}
	if l.MaxTokens > 0 {
		d.MaxTokens = l.MaxTokens
	}
	if l.MaxDepth > 0 {
		d.MaxDepth = l.MaxDepth
	}
	if l.MaxCost > 0 {
		d.MaxCost = l.MaxCost
	}
	if l.MaxAliases > 0 {
		d.MaxAliases = l.MaxAliases
	}
	return d
}

// Config configures the GraphQL service.
type Config struct {
	Clock    core.Clock
	IDs      *core.IDs
	Fixtures *fixtures.Set
	Logger   *slog.Logger
	// Specs holds schema.graphql and schema.partner.graphql (specs.Default()).
	Specs fs.FS
	// Store keeps the cases; nil means a new MemoryStore.
	Store Store
	// KeepStored starts on what Store holds instead of seeding it with
	// the fixture cases: a durable store seeded by an earlier start.
	KeepStored bool
	// Events receives case.* and note.created events; nil emits nothing.
	Events EventPublisher
	// Capabilities unlocks curated bundles; nil means no tenant has any.
	Capabilities Capabilities
	// Audit serves the auditExport partner operation; nil means an empty
	// trail.
	Audit AuditLog
	// AccessTokens, when set, authenticates the accessToken scheme of this
	// API; it must accept only tokens whose aud is ISSUER+"/v1/graphql".
	AccessTokens core.Authenticator
	Limits       Limits
}

// Service is the GraphQL surface.
type Service struct {
	cfg     Config
	log     *slog.Logger
	limits  Limits
	public  *ast.Schema
	partner *ast.Schema
	store   Store
	// fields holds the resolver and scope of every field of both schemas
	// (planFields), the executor's only view of the resolvers.
	fields  map[*ast.FieldDefinition]fieldPlan
	bundles bundleIndex
	docs    *documentCache
}

// New validates cfg, loads the schemas and the bundles and seeds the store.
// Every configuration problem is reported together.
func New(cfg Config) (*Service, error) {
	var errs []error
	if cfg.Clock == nil {
		errs = append(errs, errors.New("graphql: Config.Clock is required"))
	}
	if cfg.IDs == nil {
		errs = append(errs, errors.New("graphql: Config.IDs is required"))
	}
	if cfg.Fixtures == nil {
		errs = append(errs, errors.New("graphql: Config.Fixtures is required"))
	}
	if cfg.Specs == nil {
		errs = append(errs, errors.New("graphql: Config.Specs is required"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	s := &Service{cfg: cfg, log: cfg.Logger, limits: cfg.Limits.withDefaults(), store: cfg.Store}
	var err error
	if s.public, s.partner, err = loadSchemas(cfg.Specs); err != nil {
		return nil, err
	}
	resolvers := s.buildResolvers()
	if err := checkResolvers(s.partner, resolvers); err != nil {
		return nil, err
	}
	s.fields = planFields(resolvers, s.public, s.partner)
	if s.bundles, err = s.indexBundles(cfg.Fixtures.Bundles); err != nil {
		return nil, err
	}
	s.docs = newDocumentCache(docCacheEntries, docCacheBytes)
	if cfg.KeepStored {
		return s, nil
	}
	if err := s.store.Reset(context.Background(), seedCases(cfg.Fixtures)); err != nil {
		return nil, fmt.Errorf("graphql: seed the store: %w", err)
	}
	return s, nil
}

// API returns the routes of specs/graphql.yaml.
func (s *Service) API(doc *openapi3.T) core.API {
	api := core.API{
		Name:     "graphql",
		Doc:      doc,
		Handlers: map[string]http.Handler{"graphql": http.HandlerFunc(s.serveHTTP)},
		Errors:   writeRequestError,
	}
	if s.cfg.AccessTokens != nil {
		api.Security = map[string]core.Authenticator{"accessToken": s.cfg.AccessTokens}
	}
	return api
}

// Reset restores the fixture cases and notes (control plane reset).
func (s *Service) Reset() {
	if err := s.store.Reset(context.Background(), seedCases(s.cfg.Fixtures)); err != nil {
		s.log.Error("graphql: reset the store", "err", err)
	}
}

// checkResolvers fails when a field of an object type of the schema has no
// resolver, so a schema change cannot ship half wired.
func checkResolvers(schema *ast.Schema, resolvers map[string]map[string]resolveFunc) error {
	var errs []error
	for name, def := range schema.Types {
		if def.Kind != ast.Object || def.BuiltIn || len(name) > 1 && name[:2] == "__" {
			continue
		}
		for _, f := range def.Fields {
			if len(f.Name) > 1 && f.Name[:2] == "__" {
				continue
			}
			if resolvers[name][f.Name] == nil {
				errs = append(errs, fmt.Errorf("graphql: %s.%s has no resolver", name, f.Name))
			}
		}
	}
	return errors.Join(errs...)
}
