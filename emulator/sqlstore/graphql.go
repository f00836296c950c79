package sqlstore

import (
	"context"
	"errors"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/graphql"
)

// GraphQLStore is the graphql.Store of a DB: one document per case, its
// notes inside, keyed by (tenant, id) and ordered by creation time (at).
type GraphQLStore struct {
	db *DB
}

var _ graphql.Store = (*GraphQLStore)(nil)

// GraphQL returns the graphql.Store of d.
func (d *DB) GraphQL() *GraphQLStore { return &GraphQLStore{db: d} }

func caseRow(c *graphql.Case) row {
	return row{kind: kindCase, parent: c.Tenant, id: c.ID, tenant: c.Tenant, at: micros(c.CreatedAt), doc: c}
}

// Case returns one case of tenant.
func (s *GraphQLStore) Case(ctx context.Context, tenant, id string) (graphql.Case, error) {
	var c graphql.Case
	err := s.db.read().getTenant(ctx, &c, kindCase, tenant, tenant, id)
	if errors.Is(err, errNoRecord) {
		return graphql.Case{}, graphql.ErrNotFound
	}
	return c, err
}

// Cases returns the tenant's cases, newest first (ties by id).
func (s *GraphQLStore) Cases(ctx context.Context, tenant string) ([]graphql.Case, error) {
	return list[graphql.Case](ctx, s.db.read(), "SELECT doc FROM records WHERE kind = ? AND tenant = ? ORDER BY at DESC, id", kindCase, tenant)
}

// Update applies fn to the cases ids of tenant in one transaction under
// the tenant's case lock: all or nothing.
func (s *GraphQLStore) Update(ctx context.Context, tenant string, ids []string, fn func([]*graphql.Case) error) ([]graphql.Case, error) {
	var out []graphql.Case
	err := s.db.write(ctx, []string{"case:" + tenant}, func(c conn) error {
		work := make([]*graphql.Case, len(ids))
		for i, id := range ids {
			work[i] = &graphql.Case{}
			if err := c.getTenant(ctx, work[i], kindCase, tenant, tenant, id); err != nil {
				if errors.Is(err, errNoRecord) {
					return graphql.ErrNotFound
				}
				return err
			}
		}
		if err := fn(work); err != nil {
			return err
		}
		out = make([]graphql.Case, len(work))
		for i, w := range work {
			w.ID, w.Tenant = ids[i], tenant // the key of a case never changes
			if err := c.replace(ctx, caseRow(w)); err != nil {
				return err
			}
			out[i] = *w
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Create stores a new case unless its id is taken or the tenant holds
// limit cases, both checked under the tenant's case lock.
func (s *GraphQLStore) Create(ctx context.Context, cs graphql.Case, limit int) (graphql.Case, error) {
	err := s.db.write(ctx, []string{"case:" + cs.Tenant}, func(c conn) error {
		if dup, err := c.exists(ctx, kindCase, cs.Tenant, cs.ID, ""); err != nil || dup {
			return errors.Join(err, conflictUnless(err, graphql.ErrExists))
		}
		n, err := c.count(ctx, kindCase, cs.Tenant)
		if err != nil {
			return err
		}
		if n >= limit {
			return &core.LimitError{Limit: "cases per tenant", Max: limit, Hint: "reset the sandbox to its fixture cases"}
		}
		ok, err := c.insert(ctx, caseRow(&cs))
		if err == nil && !ok {
			err = graphql.ErrExists
		}
		return err
	})
	if err != nil {
		return graphql.Case{}, err
	}
	return cs, nil
}

// Reset replaces every case with seed.
func (s *GraphQLStore) Reset(ctx context.Context, seed []graphql.Case) error {
	return s.db.write(ctx, nil, func(c conn) error {
		if _, err := c.exec(ctx, "DELETE FROM records WHERE kind = ?", kindCase); err != nil {
			return err
		}
		for i := range seed {
			if _, err := c.insert(ctx, caseRow(&seed[i])); err != nil {
				return err
			}
		}
		return nil
	})
}
