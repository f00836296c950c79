-- Every record is a JSON document (doc) beside the columns its store
-- looks it up, orders it or prunes it by. One table serves every store;
-- kind names the record type (app, audit, code, grant, case, webhook,
-- delivery...). The SQL is common to SQLite and PostgreSQL.
CREATE TABLE records (
	kind   TEXT NOT NULL,
	-- parent scopes an id: a delivery's webhook; '' for the others.
	parent TEXT NOT NULL DEFAULT '',
	id     TEXT NOT NULL,
	tenant TEXT NOT NULL DEFAULT '',
	-- alt is a second key, unique within the kind (an app's client id).
	alt    TEXT,
	-- seq is the creation order the store assigns.
	seq    BIGINT NOT NULL DEFAULT 0,
	status TEXT NOT NULL DEFAULT '',
	k1     TEXT NOT NULL DEFAULT '',
	k2     TEXT NOT NULL DEFAULT '',
	-- at is a time in Unix microseconds (an expiry or a creation time,
	-- by kind); num a number the kind prunes by.
	at     BIGINT NOT NULL DEFAULT 0,
	num    BIGINT NOT NULL DEFAULT 0,
	doc    TEXT NOT NULL,
	PRIMARY KEY (kind, parent, id)
);
CREATE UNIQUE INDEX records_alt ON records (kind, alt) WHERE alt IS NOT NULL;
CREATE INDEX records_tenant ON records (kind, tenant, seq);
CREATE INDEX records_parent ON records (kind, parent, seq);
CREATE INDEX records_at ON records (kind, at);

-- counters hand out sequence numbers (name → last one handed out).
CREATE TABLE counters (
	name TEXT PRIMARY KEY,
	n    BIGINT NOT NULL
);

-- meta keeps facts about the database itself, such as whether the
-- fixtures were seeded.
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
