package sqlstore

import "context"

// RefuseIdempotencyDeletes makes the database refuse to delete any
// idempotency key, so a prune fails.
func (d *DB) RefuseIdempotencyDeletes(ctx context.Context) error {
	stmts := []string{`CREATE TRIGGER refuse_idempotency_deletes BEFORE DELETE ON records
		WHEN old.kind = 'idempotency_key' BEGIN SELECT RAISE(ABORT, 'deletes refused'); END`}
	if d.d.postgres {
		stmts = []string{`CREATE FUNCTION refuse_idempotency_deletes() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN RAISE EXCEPTION 'deletes refused'; END $$`,
			`CREATE TRIGGER refuse_idempotency_deletes BEFORE DELETE ON records FOR EACH ROW
			WHEN (OLD.kind = 'idempotency_key') EXECUTE FUNCTION refuse_idempotency_deletes()`}
	}
	for _, q := range stmts {
		if _, err := d.db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
