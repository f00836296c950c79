package sqlstore

import "context"

// OpenAtVersion opens a database as Open does, migrated only up to schema
// version upTo: a database an older build wrote.
func OpenAtVersion(ctx context.Context, o Options, upTo int) (*DB, error) { return open(ctx, o, upTo) }

// ExecRaw runs query (? placeholders) on the database outside the stores:
// rows written as an older build wrote them.
func (d *DB) ExecRaw(ctx context.Context, query string, args ...any) error {
	_, err := d.db.ExecContext(ctx, d.d.rebind(query), args...)
	return err
}
