-- A case's seq is its creation time (Unix µs, as at), so the index
-- records_tenant (kind, tenant, seq) holds a tenant's cases in the order
-- the cases connection pages them (newest first) and a page reads only
-- its own rows. Cases stored before this migration had seq 0.
UPDATE records SET seq = at WHERE kind = 'case';
