-- A delivery's lease owner in a column of its own (its lease-until is
-- num, in Unix microseconds, 0 when free): a claim, a heartbeat and a
-- release are then single statements on the columns, which no longer
-- decode and rewrite each document. The documents written before keep
-- the owner in their JSON; migrate copies it into the column.
ALTER TABLE records ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
-- ver counts a delivery's writes: an update batch writes a row only while
-- it is the version it read (compare-and-set, webhooks_batch.go), so every
-- write of a delivery row adds one.
ALTER TABLE records ADD COLUMN ver BIGINT NOT NULL DEFAULT 0;
-- ClaimDue: the pending deliveries in due order (at, then seq). Partial:
-- the finished ones, most of the rows, are not in it, and a delivery
-- leaves it when it finishes.
CREATE INDEX records_due ON records (kind, at, seq) WHERE status = 'pending';
-- ExtendLeases: the deliveries one owner holds.
CREATE INDEX records_lease_owner ON records (kind, lease_owner) WHERE lease_owner <> '';
