package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/knogin/argus-sandbox/emulator/core"
	"github.com/knogin/argus-sandbox/emulator/graphql"
)

// GraphQLStore is the graphql.Store of a DB: one document per case, its
// notes inside, keyed by (tenant, id) and ordered by creation time (at,
// and seq: the index records_tenant pages by it).
type GraphQLStore struct {
	db *DB
}

var _ graphql.Store = (*GraphQLStore)(nil)

// GraphQL returns the graphql.Store of d.
func (d *DB) GraphQL() *GraphQLStore { return &GraphQLStore{db: d} }

func caseRow(c *graphql.Case) row {
	at := micros(c.CreatedAt)
	return row{kind: kindCase, parent: c.Tenant, id: c.ID, tenant: c.Tenant, seq: at, at: at, doc: c}
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

// Case pages, newest first (ties by id): the first page, and the page
// after a case (its seq and id). Both walk records_tenant backwards from
// the cursor and stop at the limit.
const (
	caseFirstPage = "SELECT seq, id, doc FROM records WHERE kind = ? AND tenant = ? ORDER BY seq DESC, id LIMIT ?"
	caseNextPage  = `SELECT seq, id, doc FROM records WHERE kind = ? AND tenant = ? AND seq <= ? AND (seq < ? OR id > ?)
		ORDER BY seq DESC, id LIMIT ?`
)

// CasePage returns a page of the tenant's cases after q.After. Without a
// filter it reads limit+1 rows; a filter is applied to the decoded cases,
// read pageBatch at a time.
func (s *GraphQLStore) CasePage(ctx context.Context, tenant string, q graphql.CaseQuery) ([]graphql.Case, bool, error) {
	limit := max(q.Limit, 1)
	c := s.db.read()
	var (
		seq int64
		id  = q.After
	)
	if id != "" {
		err := c.queryRow(ctx, "SELECT seq FROM records WHERE kind = ? AND parent = ? AND id = ?", kindCase, tenant, id).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, graphql.ErrNotFound
		}
		if err != nil {
			return nil, false, err
		}
	}
	batch := limit + 1
	if q.Match != nil {
		batch = max(batch, pageBatch)
	}
	var out []graphql.Case
	for {
		var (
			rows *sql.Rows
			err  error
		)
		if id == "" {
			rows, err = c.query(ctx, caseFirstPage, kindCase, tenant, batch)
		} else {
			rows, err = c.query(ctx, caseNextPage, kindCase, tenant, seq, seq, id, batch)
		}
		if err != nil {
			return nil, false, err
		}
		n, err := scanCases(rows, func(rowSeq int64, rowID string, cs *graphql.Case) bool {
			c.db.pageRows.Add(1)
			seq, id = rowSeq, rowID
			if q.Match == nil || q.Match(cs) {
				out = append(out, *cs)
			}
			return len(out) <= limit
		})
		if err != nil {
			return nil, false, err
		}
		if len(out) > limit {
			return out[:limit], true, nil
		}
		if n < batch {
			return out, false, nil
		}
	}
}

// scanCases decodes the rows of a case page for fn, until fn answers
// false, and closes them; n is how many it read.
func scanCases(rows *sql.Rows, fn func(seq int64, id string, c *graphql.Case) bool) (n int, err error) {
	defer rows.Close()
	for rows.Next() {
		var (
			seq     int64
			id, doc string
			cs      graphql.Case
		)
		if err := rows.Scan(&seq, &id, &doc); err != nil {
			return n, err
		}
		n++
		if err := decode(doc, &cs); err != nil {
			return n, err
		}
		if !fn(seq, id, &cs) {
			break
		}
	}
	return n, rows.Err()
}

// CountCases counts the tenant's cases that match accepts: from the index
// alone without a filter, else reading them a page at a time.
func (s *GraphQLStore) CountCases(ctx context.Context, tenant string, match func(*graphql.Case) bool) (int, error) {
	if match == nil {
		return s.db.read().count(ctx, kindCase, tenant)
	}
	n := 0
	q := graphql.CaseQuery{Limit: pageBatch, Match: match}
	for {
		page, more, err := s.CasePage(ctx, tenant, q)
		if err != nil {
			return 0, err
		}
		n += len(page)
		if !more {
			return n, nil
		}
		q.After = page[len(page)-1].ID
	}
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

// ResetTenant replaces the tenant's cases with the cases of seed that
// belong to it (none: the tenant has no cases left).
func (s *GraphQLStore) ResetTenant(ctx context.Context, tenant string, seed []graphql.Case) error {
	return s.db.write(ctx, []string{"case:" + tenant}, func(c conn) error {
		if _, err := c.exec(ctx, "DELETE FROM records WHERE kind = ? AND tenant = ?", kindCase, tenant); err != nil {
			return err
		}
		for i := range seed {
			if seed[i].Tenant != tenant {
				continue
			}
			if _, err := c.insert(ctx, caseRow(&seed[i])); err != nil {
				return err
			}
		}
		return nil
	})
}
