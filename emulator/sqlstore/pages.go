package sqlstore

import (
	"context"
)

// seqPageQuery reads the records of one kind in a tenant after a position,
// in creation order. It walks the index records_tenant (kind, tenant, seq)
// from the position and stops at the limit, so the database reads the rows
// it returns and no others, however many the tenant keeps: a page costs
// the same with a hundred records as with a million.
const seqPageQuery = "SELECT seq, doc FROM records WHERE kind = ? AND tenant = ? AND seq > ? ORDER BY seq LIMIT ?"

// pageBatch is how many rows a filtered page reads at a time: a filter
// the columns do not hold is applied to the decoded documents, so a page
// may read past rows that do not match.
const pageBatch = 100

// seqPage reads one page of the records of kind in tenant whose seq is
// above after, decoded as T, in seq order: at most limit of them (below
// 1: one) that match (nil: every one), and next, the seq of the page's
// last record when more matching ones follow, else 0. Without match it
// reads limit+1 rows, the one past the page telling whether another
// follows; with one, batches of rows until the page and that one are
// found or the records end.
func seqPage[T any](ctx context.Context, c conn, kind, tenant string, after, limit int, match func(*T) bool) ([]T, int, error) {
	limit = max(limit, 1)
	batch := limit + 1
	if match != nil {
		batch = max(batch, pageBatch)
	}
	var (
		out  []T
		seqs []int
	)
	for {
		n, err := scanSeq(ctx, c, kind, tenant, after, batch, func(seq int, v *T) bool {
			after = seq
			if match == nil || match(v) {
				out, seqs = append(out, *v), append(seqs, seq)
			}
			return len(out) <= limit
		})
		if err != nil {
			return nil, 0, err
		}
		if len(out) > limit {
			return out[:limit], seqs[limit-1], nil
		}
		if n < batch {
			return out, 0, nil
		}
	}
}

// scanSeq runs seqPageQuery for up to batch rows and hands each, decoded,
// to fn until fn answers false; n is how many rows it read.
func scanSeq[T any](ctx context.Context, c conn, kind, tenant string, after, batch int, fn func(seq int, v *T) bool) (n int, err error) {
	rows, err := c.query(ctx, seqPageQuery, kind, tenant, after, batch)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq int
			doc string
			v   T
		)
		if err := rows.Scan(&seq, &doc); err != nil {
			return n, err
		}
		n++
		c.db.pageRows.Add(1)
		if err := decode(doc, &v); err != nil {
			return n, err
		}
		if !fn(seq, &v) {
			break
		}
	}
	return n, rows.Err()
}
