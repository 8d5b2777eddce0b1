package audit

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// Store keeps the chain. Append assigns Seq, PrevHash and Hash atomically
// in the database, so several processes (webhook replicas) appending to
// one database still make one gap-free chain.
type Store interface {
	Append(ctx context.Context, e Entry) (Entry, error)
	// Query returns the entries matching q, newest first, and a token for
	// the next page ("" when there is none).
	Query(ctx context.Context, q Query) ([]Entry, string, error)
	// Range calls fn for entries from..to (inclusive; to <= 0: to the end)
	// in seq order, streaming.
	Range(ctx context.Context, from, to int64, fn func(Entry) error) error
	// Head is the number of entries and the last entry's hash.
	Head(ctx context.Context) (size int64, head string, err error)
	PutCheckpoint(ctx context.Context, c Checkpoint) error
	// Checkpoints in order of size.
	Checkpoints(ctx context.Context) ([]Checkpoint, error)
	Close() error
}

// Query selects entries; empty fields do not filter. Subject matches the
// subject's name or reference exactly, Digest its digest; Gate a gate that
// ran; Rule a rule ("rule" or "gate/rule") of a violation, warning or
// waived finding; Waiver "*" any waiver used, else a waiver's ticket,
// subject pattern or approver; Verdict allowed, denied or "not decided".
type Query struct {
	From, To                                  time.Time // From <= time < To
	Subject, Digest, Kind                     string
	Environment, Namespace                    string
	Gate, Rule, Verdict, Waiver, PolicyDigest string
	Limit                                     int // [DefaultQueryLimit], at most MaxQueryLimit
	PageToken                                 string
}

// Query page sizes.
const (
	DefaultQueryLimit = 100
	MaxQueryLimit     = 1000
)

// ErrBadQuery wraps errors about a Query's fields (a bad page token, an
// unknown verdict): the caller's fault, a 400 in HTTP.
var ErrBadQuery = errors.New("bad audit query")

// Checkpoint is a signed statement of the log's size and head hash.
type Checkpoint struct {
	Size      int64     `json:"size"`
	Head      string    `json:"head"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"key_id,omitempty"`
	Signature []byte    `json:"signature"`
}

// SignedMessage is what a checkpoint's signature is over:
// "gatehouse-audit-checkpoint/v1\n<size>\n<head>\n<time RFC3339>\n".
func (c Checkpoint) SignedMessage() []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\n%s\n", checkpointType, c.Size, c.Head, c.Time.UTC().Format(time.RFC3339))
}

// Open opens (creating and migrating) the store a DSN names:
// "sqlite:PATH" or a plain file path for SQLite, "postgres://..." or
// "postgresql://..." for PostgreSQL.
func Open(ctx context.Context, dsn string) (Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case dsn == "":
		return nil, errors.New("audit store: empty DSN (want sqlite:PATH, a file path or postgres://...)")
	}
	if i := strings.Index(dsn, "://"); i > 0 && !strings.ContainsAny(dsn[:i], `/\.`) {
		return nil, fmt.Errorf("audit store %q: unknown scheme %q (want sqlite:PATH, a file path or postgres://...)", redactDSN(dsn), dsn[:i])
	}
	return openSQLite(ctx, dsn)
}

// redactDSN hides a password in a DSN for error messages.
func redactDSN(dsn string) string {
	s, _ := Redact(dsn)
	return s
}

// terms are the index rows of an entry for the Gate, Rule and Waiver
// filters.
func terms(e *Entry) []string {
	seen := map[string]bool{}
	var out []string
	add := func(t string) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for _, g := range e.Gates {
		add("gate:" + g)
	}
	for _, f := range findingsOf(e) {
		add("rule:" + f.Rule)
		add("rule:" + f.Gate + "/" + f.Rule)
	}
	for _, w := range e.Waived {
		add("waiver:*")
		for _, v := range []string{w.Waiver.Ticket, w.Waiver.Subject, w.Waiver.Approver} {
			if v != "" {
				add("waiver:" + v)
			}
		}
	}
	return out
}

// findingsOf is every finding of e: violations, warnings and waived.
func findingsOf(e *Entry) []gates.Finding {
	out := append(slices.Clone(e.Violations), e.Warnings...)
	for _, w := range e.Waived {
		out = append(out, w.Finding)
	}
	return out
}

// buildQuery turns q into SQL over audit_entries; ph renders the n-th
// placeholder ("?" or "$n").
func buildQuery(q Query, ph func(int) string) (string, []any, int, error) {
	limit := q.Limit
	switch {
	case limit <= 0:
		limit = DefaultQueryLimit
	case limit > MaxQueryLimit:
		limit = MaxQueryLimit
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return ph(len(args))
	}
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = "+arg(v))
		}
	}
	if !q.From.IsZero() {
		where = append(where, "ts >= "+arg(q.From.UnixNano()))
	}
	if !q.To.IsZero() {
		where = append(where, "ts < "+arg(q.To.UnixNano()))
	}
	if q.Subject != "" {
		where = append(where, "(subject_name = "+arg(q.Subject)+" OR subject_ref = "+arg(q.Subject)+")")
	}
	eq("digest", q.Digest)
	eq("kind", q.Kind)
	eq("environment", q.Environment)
	eq("namespace", q.Namespace)
	eq("policy_digest", q.PolicyDigest)
	switch q.Verdict {
	case "", "allowed", "denied", "not decided":
		eq("verdict", q.Verdict)
	default:
		return "", nil, 0, fmt.Errorf("%w: verdict %q: want allowed, denied or not decided", ErrBadQuery, q.Verdict)
	}
	for _, t := range []struct{ prefix, v string }{{"gate:", q.Gate}, {"rule:", q.Rule}, {"waiver:", q.Waiver}} {
		if t.v != "" {
			where = append(where, "seq IN (SELECT seq FROM audit_terms WHERE term = "+arg(t.prefix+t.v)+")")
		}
	}
	if q.PageToken != "" {
		before, err := strconv.ParseInt(q.PageToken, 10, 64)
		if err != nil || before < 1 {
			return "", nil, 0, fmt.Errorf("%w: page token %q is not one this server issued", ErrBadQuery, q.PageToken)
		}
		where = append(where, "seq < "+arg(before))
	}
	sql := "SELECT seq, hash, body FROM audit_entries"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	// One more than the page tells whether there is a next page.
	sql += " ORDER BY seq DESC LIMIT " + strconv.Itoa(limit+1)
	return sql, args, limit, nil
}

// pageOf trims one-more-than-limit results to a page and its next token.
func pageOf(es []Entry, limit int) ([]Entry, string) {
	if len(es) <= limit {
		return es, ""
	}
	es = es[:limit]
	return es, strconv.FormatInt(es[len(es)-1].Seq, 10)
}

// prepared is an entry ready to be chained: everything but its place.
type prepared struct {
	e       Entry
	members map[string]any // e's JSON without seq, prev_hash, hash
	terms   []string
}

// chainNext fills p's Seq, PrevHash and Hash after (size, head) and returns
// its body.
func chainNext(p *prepared, size int64, head string) []byte {
	p.e.Seq, p.e.PrevHash = size+1, head
	body := bodyWith(p.members, p.e.Seq, p.e.PrevHash)
	p.e.Hash = hashBody(body)
	return body
}

func prepare(e Entry) (prepared, error) {
	e.Time = e.Time.UTC()
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	e.Seq, e.PrevHash, e.Hash = 0, "", ""
	// Encode before the transaction: an entry that cannot be encoded must
	// not fail the batch it would share.
	m, err := entryMembers(&e)
	if err != nil {
		return prepared{}, err
	}
	return prepared{e: e, members: m, terms: terms(&e)}, nil
}

// batcher group-commits appends: concurrent Appends of one process share a
// transaction (and its fsync), each acknowledged only after the commit.
type batcher struct {
	write func(ctx context.Context, ps []prepared) error
	reqs  chan *appendReq
	quit  chan struct{}
	done  chan struct{}
	once  sync.Once
}

type appendReq struct {
	p   prepared
	err chan error
}

const maxBatch = 256

// appendTimeout bounds one batch's transaction.
const appendTimeout = 30 * time.Second

func newBatcher(write func(context.Context, []prepared) error) *batcher {
	b := &batcher{write: write, reqs: make(chan *appendReq), quit: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

var errClosed = errors.New("audit store closed")

func (b *batcher) append(ctx context.Context, e Entry) (Entry, error) {
	p, err := prepare(e)
	if err != nil {
		return Entry{}, err
	}
	r := &appendReq{p: p, err: make(chan error, 1)}
	select {
	case b.reqs <- r:
	case <-ctx.Done():
		return Entry{}, ctx.Err()
	case <-b.quit:
		return Entry{}, errClosed
	}
	// Once taken the entry may be committed: wait for the outcome (bounded
	// by appendTimeout) rather than report a failure that did not happen.
	if err := <-r.err; err != nil {
		return Entry{}, err
	}
	return r.p.e, nil
}

func (b *batcher) run() {
	defer close(b.done)
	for {
		var batch []*appendReq
		select {
		case r := <-b.reqs:
			batch = append(batch, r)
		case <-b.quit:
			return
		}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		ps := make([]prepared, len(batch))
		for i, r := range batch {
			ps[i] = r.p
		}
		ctx, cancel := context.WithTimeout(context.Background(), appendTimeout)
		err := b.write(ctx, ps)
		cancel()
		for i, r := range batch {
			r.p = ps[i]
			r.err <- err
		}
	}
}

func (b *batcher) close() {
	b.once.Do(func() { close(b.quit) })
	<-b.done
}

// dialect is what differs between the SQL stores.
type dialect struct {
	name string
	ph   func(n int) string // the n-th placeholder (1-based)
	// lockHead reads the head row, locking it until the transaction ends
	// (SQLite's BEGIN IMMEDIATE already holds the write lock).
	lockHead string
	// migrateLock, when set, runs first in the migration transaction so
	// that replicas starting together migrate one at a time.
	migrateLock string
	// writeBatch, when set, replaces the database/sql transaction of an
	// append batch (PostgreSQL pipelines it).
	writeBatch func(ctx context.Context, db *sql.DB, ps []prepared) error
}

// sqlStore is the Store over database/sql, for both SQLite and PostgreSQL.
type sqlStore struct {
	db  *sql.DB
	d   dialect
	b   *batcher
	dsn string // for errors, password redacted
}

func newSQLStore(ctx context.Context, db *sql.DB, d dialect, dsn string) (*sqlStore, error) {
	s := &sqlStore{db: db, d: d, dsn: redactDSN(dsn)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.b = newBatcher(s.writeBatch)
	return s, nil
}

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists a dialect's migrations in order: NNNN_name.sql files
// under migrations/<dialect>/.
func migrations(dialect string) ([]migration, error) {
	dir := "migrations/" + dialect
	des, err := migrationFS.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, de := range des {
		v, _, ok := strings.Cut(de.Name(), "_")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || !strings.HasSuffix(de.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s/%s: want NNNN_name.sql", dir, de.Name())
		}
		b, err := migrationFS.ReadFile(dir + "/" + de.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{n, de.Name(), string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	return ms, nil
}

func (s *sqlStore) migrate(ctx context.Context) error {
	ms, err := migrations(s.d.name)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit store %s: %w", s.dsn, err)
	}
	defer tx.Rollback()
	if s.d.migrateLock != "" {
		if _, err := tx.ExecContext(ctx, s.d.migrateLock); err != nil {
			return fmt.Errorf("audit store %s: migration lock: %w", s.dsn, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("audit store %s: schema_migrations: %w", s.dsn, err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("audit store %s: schema_migrations: %w", s.dsn, err)
	}
	if latest := ms[len(ms)-1].version; have > latest {
		return fmt.Errorf("audit store %s: schema version %d is newer than this gatehouse knows (%d): upgrade gatehouse", s.dsn, have, latest)
	}
	for _, m := range ms {
		if m.version <= have {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("audit store %s: migration %s: %w", s.dsn, m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (`+s.d.ph(1)+`, `+s.d.ph(2)+`, `+s.d.ph(3)+`)`,
			m.version, m.name, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return fmt.Errorf("audit store %s: migration %s: %w", s.dsn, m.name, err)
		}
	}
	return tx.Commit()
}

func (s *sqlStore) Append(ctx context.Context, e Entry) (Entry, error) {
	return s.b.append(ctx, e)
}

const entryColumns = 14

// writeBatch appends ps in one transaction: lock the head, chain each
// entry after it, insert entries and terms, advance the head, commit.
func (s *sqlStore) writeBatch(ctx context.Context, ps []prepared) error {
	if s.d.writeBatch != nil {
		return s.d.writeBatch(ctx, s.db, ps)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit append: %w", err)
	}
	defer tx.Rollback()
	var size int64
	var head string
	if err := tx.QueryRowContext(ctx, s.d.lockHead).Scan(&size, &head); err != nil {
		return fmt.Errorf("audit append: read head: %w", err)
	}
	for _, st := range batchStatements(ps, size, head, s.d.ph) {
		if _, err := tx.ExecContext(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("audit append: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit append: commit: %w", err)
	}
	return nil
}

type statement struct {
	sql  string
	args []any
}

// batchStatements chains ps after (size, head) and returns the statements
// that store them: insert the entries, their terms, advance the head.
func batchStatements(ps []prepared, size int64, head string, ph func(int) string) []statement {
	var (
		vals  []string
		args  []any
		terms []any // term, seq, term, seq, ...
	)
	for i := range ps {
		p := &ps[i]
		body := chainNext(p, size, head)
		size, head = p.e.Seq, p.e.Hash
		e := &p.e
		row := make([]string, entryColumns)
		for j := range row {
			row[j] = ph(len(args) + j + 1)
		}
		vals = append(vals, "("+strings.Join(row, ", ")+")")
		args = append(args, e.Seq, e.Time.UnixNano(), e.Door, string(e.Subject.Kind), e.Subject.Ref, e.Subject.Name,
			e.Subject.Digest, e.Environment, e.Namespace, e.Verdict, e.PolicyDigest, e.PrevHash, e.Hash, body)
		for _, t := range p.terms {
			terms = append(terms, t, e.Seq)
		}
	}
	sts := []statement{{`INSERT INTO audit_entries (seq, ts, door, kind, subject_ref, subject_name, digest, environment, namespace, verdict, policy_digest, prev_hash, hash, body) VALUES ` + strings.Join(vals, ", "), args}}
	// Terms go in chunks: placeholders per statement are limited.
	for len(terms) > 0 {
		chunk := terms[:min(len(terms), 2000)]
		row := make([]string, len(chunk)/2)
		for j := range row {
			row[j] = "(" + ph(2*j+1) + ", " + ph(2*j+2) + ")"
		}
		sts = append(sts, statement{`INSERT INTO audit_terms (term, seq) VALUES ` + strings.Join(row, ", "), chunk})
		terms = terms[len(chunk):]
	}
	return append(sts, statement{`UPDATE audit_head SET size = ` + ph(1) + `, head = ` + ph(2) + ` WHERE id = 1`, []any{size, head}})
}

func (s *sqlStore) Query(ctx context.Context, q Query) ([]Entry, string, error) {
	query, args, limit, err := buildQuery(q, s.d.ph)
	if err != nil {
		return nil, "", err
	}
	var es []Entry
	err = s.scan(ctx, query, args, func(seq int64, hash string, body []byte) error {
		e, err := decodeEntry(seq, hash, body)
		es = append(es, e)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	es, next := pageOf(es, limit)
	return es, next, nil
}

func decodeEntry(seq int64, hash string, body []byte) (Entry, error) {
	var e Entry
	if err := json.Unmarshal(body, &e); err != nil {
		return Entry{}, fmt.Errorf("audit entry %d: stored body does not decode (run audit verify): %w", seq, err)
	}
	e.Hash = hash
	return e, nil
}

// scan runs a query returning (seq, hash, body) rows and calls fn for each.
func (s *sqlStore) scan(ctx context.Context, query string, args []any, fn func(seq int64, hash string, body []byte) error) error {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("audit query: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq  int64
			hash string
			body []byte
		)
		if err := rows.Scan(&seq, &hash, &body); err != nil {
			return fmt.Errorf("audit query: %w", err)
		}
		if err := fn(seq, hash, body); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit query: %w", err)
	}
	return nil
}

func (s *sqlStore) Range(ctx context.Context, from, to int64, fn func(Entry) error) error {
	return s.rangeRaw(ctx, from, to, func(seq int64, hash string, body []byte) error {
		e, err := decodeEntry(seq, hash, body)
		if err != nil {
			return err
		}
		return fn(e)
	})
}

// rangeRaw streams stored rows as they are, for Verify and Export: the
// body bytes are what the hash is over.
func (s *sqlStore) rangeRaw(ctx context.Context, from, to int64, fn func(seq int64, hash string, body []byte) error) error {
	if to <= 0 {
		to = math.MaxInt64
	}
	return s.scan(ctx, `SELECT seq, hash, body FROM audit_entries WHERE seq >= `+s.d.ph(1)+` AND seq <= `+s.d.ph(2)+` ORDER BY seq`, []any{from, to}, fn)
}

// indexRow is an entry's query columns, copies of its body's fields that
// Verify compares with the body: a column changed behind gatehouse's back
// would hide an entry from a query or show it under the wrong filter.
type indexRow struct {
	ts                                                       int64
	door, kind, subjectRef, subjectName, digest, environment string
	namespace, verdict, policyDigest                         string
}

// verifyRows streams the rows up to seq to with their query columns, in
// seq order.
func (s *sqlStore) verifyRows(ctx context.Context, to int64, fn func(seq int64, hash string, body []byte, cols *indexRow) error) error {
	rows, err := s.db.QueryContext(ctx, `SELECT seq, hash, body, ts, door, kind, subject_ref, subject_name, digest, environment, namespace, verdict, policy_digest FROM audit_entries WHERE seq <= `+s.d.ph(1)+` ORDER BY seq`, to)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	defer rows.Close()
	var (
		seq  int64
		hash string
		body []byte
		c    indexRow
	)
	for rows.Next() {
		if err := rows.Scan(&seq, &hash, &body, &c.ts, &c.door, &c.kind, &c.subjectRef, &c.subjectName, &c.digest, &c.environment, &c.namespace, &c.verdict, &c.policyDigest); err != nil {
			return fmt.Errorf("audit verify: %w", err)
		}
		if err := fn(seq, hash, body, &c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	return nil
}

func (s *sqlStore) Head(ctx context.Context) (int64, string, error) {
	var size int64
	var head string
	if err := s.db.QueryRowContext(ctx, `SELECT size, head FROM audit_head WHERE id = 1`).Scan(&size, &head); err != nil {
		return 0, "", fmt.Errorf("audit head: %w", err)
	}
	return size, head, nil
}

func (s *sqlStore) PutCheckpoint(ctx context.Context, c Checkpoint) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO audit_checkpoints (size, head, ts, key_id, signature) VALUES (`+
		s.d.ph(1)+`, `+s.d.ph(2)+`, `+s.d.ph(3)+`, `+s.d.ph(4)+`, `+s.d.ph(5)+`)`,
		c.Size, c.Head, c.Time.Unix(), c.KeyID, c.Signature)
	if err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	return nil
}

func (s *sqlStore) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT size, head, ts, key_id, signature FROM audit_checkpoints ORDER BY size, id`)
	if err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	defer rows.Close()
	var cs []Checkpoint
	for rows.Next() {
		var c Checkpoint
		var ts int64
		if err := rows.Scan(&c.Size, &c.Head, &ts, &c.KeyID, &c.Signature); err != nil {
			return nil, fmt.Errorf("audit checkpoints: %w", err)
		}
		c.Time = time.Unix(ts, 0).UTC()
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	return cs, nil
}

func (s *sqlStore) Close() error {
	s.b.close()
	return s.db.Close()
}
