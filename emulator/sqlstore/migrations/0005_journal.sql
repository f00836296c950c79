-- The request journal of a sandbox whose replicas share a PostgreSQL
-- database (journal.go): every replica appends what it served, so any
-- replica lists all of it. seq is the journal's cursor; on PostgreSQL
-- migrate makes it an identity column (one sequence for every replica),
-- which this SQL, shared with SQLite, cannot say. SQLite keeps its journal
-- in memory and leaves the table empty. The filter columns copy fields of
-- doc, the entry's JSON without its seq; at is its time in Unix
-- nanoseconds.
CREATE TABLE journal (
	seq        BIGINT NOT NULL PRIMARY KEY,
	tenant     TEXT NOT NULL,
	at         BIGINT NOT NULL,
	operation  TEXT NOT NULL,
	client_id  TEXT NOT NULL,
	status     INTEGER NOT NULL,
	request_id TEXT NOT NULL,
	doc        TEXT NOT NULL
);
-- A tenant's entries newest first: its pages, and the pruning that keeps
-- the newest of each tenant.
CREATE INDEX journal_tenant ON journal (tenant, seq);
