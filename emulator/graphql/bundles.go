package graphql

import (
	"context"
	"errors"
	"fmt"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/fixtures"
)

// scopeBundles is the partner scope that persisted bundle operations need.
const scopeBundles = "graphql:bundles"

// bundleOp is one persisted operation of a curated bundle, validated
// against the partner schema at start-up.
type bundleOp struct {
	bundle *fixtures.Bundle
	op     fixtures.BundleOperation
	prep   *prepared
}

// bundleIndex finds persisted operations by id and by SHA-256; the same id
// may appear in several bundles.
type bundleIndex struct {
	byID   map[string][]*bundleOp
	byHash map[string][]*bundleOp
}

// indexBundles validates every bundle document and indexes it; an invalid
// document fails start-up with the bundle and operation named.
func (s *Service) indexBundles(bundles []fixtures.Bundle) (bundleIndex, error) {
	idx := bundleIndex{byID: map[string][]*bundleOp{}, byHash: map[string][]*bundleOp{}}
	var errs []error
	for i := range bundles {
		b := &bundles[i]
		for _, op := range b.Operations {
			prep := s.prepare(s.partner, op.Document)
			if len(prep.errors) > 0 {
				errs = append(errs, fmt.Errorf("graphql: bundles.yaml: bundle %s operation %s: %s", b.ID, op.ID, prep.errors[0].Message))
				continue
			}
			bo := &bundleOp{bundle: b, op: op, prep: prep}
			idx.byID[op.ID] = append(idx.byID[op.ID], bo)
			idx.byHash[op.SHA256] = append(idx.byHash[op.SHA256], bo)
		}
	}
	return idx, errors.Join(errs...)
}

// approvedOperation returns the persisted operation named by id or hash if
// the principal may call it: the token holds graphql:bundles and the
// tenant holds the bundle's capability. Otherwise nil, whatever the reason.
func (s *Service) approvedOperation(ctx context.Context, p *core.Principal, id string, pq *persistedQuery) *bundleOp {
	if !p.HasScope(scopeBundles) {
		return nil
	}
	candidates := s.bundles.byID[id]
	if id == "" {
		candidates = s.bundles.byHash[pq.SHA256Hash]
	}
	for _, c := range candidates {
		if pq != nil && c.op.SHA256 != pq.SHA256Hash {
			continue // both given: they must name the same operation
		}
		if s.tenantHas(ctx, p.Tenant, c.bundle.Capability) {
			return c
		}
	}
	return nil
}

func (s *Service) tenantHas(ctx context.Context, tenant, capability string) bool {
	return s.cfg.Capabilities != nil && s.cfg.Capabilities.TenantHasCapability(ctx, tenant, capability)
}

// approvedBundles lists the bundles approved for the tenant, and only
// those: a tenant never learns what other bundles exist.
func (s *Service) approvedBundles(ctx context.Context, tenant string) []any {
	out := []any{}
	for i := range s.cfg.Fixtures.Bundles {
		b := &s.cfg.Fixtures.Bundles[i]
		if s.tenantHas(ctx, tenant, b.Capability) {
			out = append(out, b)
		}
	}
	return out
}
