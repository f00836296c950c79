-- A webhook's deliveries by status, in creation order: trim counts the
-- finished ones and evicts the oldest from this index alone, without
-- reading the pending ones' rows.
CREATE INDEX records_parent_status ON records (kind, parent, status, seq);
