-- The request journal in pages (journal.go): a replica stores each write
-- of its queue as one row a tenant, the tenant's entries one a line (its
-- place in the write, a space, its JSON document), where it wrote a row
-- an entry (table journal, which migrate copies here and drops). write
-- numbers the writes: on PostgreSQL migrate takes it from a sequence,
-- which this SQL, shared with SQLite, cannot say. An entry's number is
-- write * 1024 + its place. n counts the lines; a prune drops a tenant's
-- oldest pages and cuts the oldest lines of the oldest it keeps by raising
-- trimmed, the lines at the start that reads skip.
CREATE TABLE journal_pages (
	write   BIGINT NOT NULL,
	tenant  TEXT NOT NULL,
	trimmed INTEGER NOT NULL,
	n       INTEGER NOT NULL,
	docs    TEXT NOT NULL,
	PRIMARY KEY (tenant, write)
);
-- Every tenant's pages newest first: the reads of the whole journal.
CREATE INDEX journal_pages_write ON journal_pages (write);
