-- The chain: one row per entry. body is the canonical JSON that hash is
-- the sha256 of; the other columns are copies of its fields for queries.
CREATE TABLE audit_entries (
	seq           BIGINT PRIMARY KEY,
	ts            BIGINT NOT NULL, -- unix nanoseconds
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
	body          BYTEA NOT NULL
);
-- (column, seq): each serves "newest first" too.
CREATE INDEX audit_entries_ts ON audit_entries (ts, seq);
CREATE INDEX audit_entries_digest ON audit_entries (digest, seq);
CREATE INDEX audit_entries_subject_name ON audit_entries (subject_name, seq);
CREATE INDEX audit_entries_subject_ref ON audit_entries (subject_ref, seq);
CREATE INDEX audit_entries_environment ON audit_entries (environment, seq);
CREATE INDEX audit_entries_namespace ON audit_entries (namespace, seq);
CREATE INDEX audit_entries_verdict ON audit_entries (verdict, seq);
CREATE INDEX audit_entries_policy_digest ON audit_entries (policy_digest, seq);
-- gate:NAME, rule:RULE, rule:GATE/RULE, waiver:* and waiver:TICKET|SUBJECT|APPROVER.
CREATE TABLE audit_terms (
	term TEXT NOT NULL,
	seq  BIGINT NOT NULL,
	PRIMARY KEY (term, seq)
);
-- The one row appends lock and advance: size and head hash of the chain.
CREATE TABLE audit_head (
	id   INTEGER PRIMARY KEY CHECK (id = 1),
	size BIGINT NOT NULL,
	head TEXT NOT NULL
);
INSERT INTO audit_head (id, size, head) VALUES (1, 0, '');
CREATE TABLE audit_checkpoints (
	id        BIGSERIAL PRIMARY KEY,
	size      BIGINT NOT NULL,
	head      TEXT NOT NULL,
	ts        BIGINT NOT NULL, -- unix seconds (the signed time is RFC 3339 to the second)
	key_id    TEXT NOT NULL,
	signature BYTEA NOT NULL
);
