-- The chain: one row per entry. body is the canonical JSON that hash is
-- the sha256 of; the other columns are copies of its fields for queries.
CREATE TABLE audit_entries (
	seq           INTEGER PRIMARY KEY,
	ts            INTEGER NOT NULL, -- unix nanoseconds
	door          TEXT NOT NULL,
	kind          TEXT NOT NULL,
	subject_ref   TEXT NOT NULL,
	subject_name  TEXT NOT NULL,
	digest        TEXT NOT NULL,
	environment   TEXT NOT NULL,
	namespace     TEXT NOT NULL,
	verdict       TEXT NOT NULL,
	policy_digest TEXT NOT NULL,
	prev_hash     TEXT NOT NULL,
	hash          TEXT NOT NULL,
	body          BLOB NOT NULL
);
-- SQLite indexes carry the rowid (seq): each serves "newest first" too.
CREATE INDEX audit_entries_ts ON audit_entries (ts);
CREATE INDEX audit_entries_digest ON audit_entries (digest);
CREATE INDEX audit_entries_subject_name ON audit_entries (subject_name);
CREATE INDEX audit_entries_subject_ref ON audit_entries (subject_ref);
CREATE INDEX audit_entries_environment ON audit_entries (environment);
CREATE INDEX audit_entries_namespace ON audit_entries (namespace);
CREATE INDEX audit_entries_verdict ON audit_entries (verdict);
CREATE INDEX audit_entries_policy_digest ON audit_entries (policy_digest);
-- gate:NAME, rule:RULE, rule:GATE/RULE, waiver:* and waiver:TICKET|SUBJECT|APPROVER.
CREATE TABLE audit_terms (
	term TEXT NOT NULL,
	seq  INTEGER NOT NULL,
	PRIMARY KEY (term, seq)
) WITHOUT ROWID;
-- The one row appends lock and advance: size and head hash of the chain.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	size INTEGER NOT NULL,
	head TEXT NOT NULL
);
INSERT INTO audit_head (id, size, head) VALUES (1, 0, '');
CREATE TABLE audit_checkpoints (
	id        INTEGER PRIMARY KEY,
	size      INTEGER NOT NULL,
	head      TEXT NOT NULL,
	ts        INTEGER NOT NULL, -- unix seconds (the signed time is RFC 3339 to the second)
	key_id    TEXT NOT NULL,
	signature BLOB NOT NULL
);
