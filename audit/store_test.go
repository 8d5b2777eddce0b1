package audit

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// pgAdminDSN is the PostgreSQL server the tests create their databases
// on: GATEHOUSE_TEST_POSTGRES, or the local server .ci/run starts.
func pgAdminDSN() string {
	if d := os.Getenv("GATEHOUSE_TEST_POSTGRES"); d != "" {
		return d
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// backend is one store kind under test: a DSN for a fresh, empty log and
// direct SQL access to it for tampering.
type backend struct {
	name string
	dsn  string
	raw  *sql.DB
	ph   func(int) string
}

// exec runs SQL written with "?" placeholders on the backend's database.
func (b *backend) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	n := 0
	var sb strings.Builder
	for _, r := range query {
		if r == '?' {
			n++
			sb.WriteString(b.ph(n))
			continue
		}
		sb.WriteRune(r)
	}
	if _, err := b.raw.Exec(sb.String(), args...); err != nil {
		t.Fatalf("%s: %s: %v", b.name, query, err)
	}
}

func (b *backend) open(t testing.TB) Store {
	t.Helper()
	s, err := Open(context.Background(), b.dsn)
	if err != nil {
		t.Fatalf("open %s: %v", b.name, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// backends returns a fresh SQLite and (when the server is reachable) a
// fresh PostgreSQL database, each dropped when t ends.
func backends(t testing.TB) []*backend {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	bs := []*backend{{name: "sqlite", dsn: "sqlite:" + path, raw: raw, ph: sqliteDialect.ph}}
	if pg := freshPostgres(t); pg != nil {
		bs = append(bs, pg)
	}
	return bs
}

var pgSeq struct {
	sync.Mutex
	n int
}

func freshPostgres(t testing.TB) *backend {
	t.Helper()
	admin, err := sql.Open("pgx", pgAdminDSN())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Logf("PostgreSQL at %s unreachable (%v): PostgreSQL store not tested here (.ci/run starts one)", redactDSN(pgAdminDSN()), err)
		return nil
	}
	pgSeq.Lock()
	pgSeq.n++
	name := fmt.Sprintf("gatehouse_audit_test_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e6, pgSeq.n)
	pgSeq.Unlock()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	dsn := strings.Replace(pgAdminDSN(), "/postgres?", "/"+name+"?", 1)
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		raw.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})
	return &backend{name: "postgres", dsn: dsn, raw: raw, ph: postgresDialect.ph}
}

// eachBackend runs f as a subtest per backend.
func eachBackend(t *testing.T, f func(t *testing.T, b *backend)) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) { f(t, b) })
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// sampleDecision i varies subject, verdict, gates, findings and waivers.
func sampleDecision(i int) *gates.Decision {
	d := &gates.Decision{
		Subject:         gates.Subject{Kind: gates.Kind([]string{"image", "model"}[i%2]), Ref: fmt.Sprintf("models/m%d", i%5), Name: fmt.Sprintf("m%d", i%5), Digest: fmt.Sprintf("sha256:%064d", i%7)},
		Environment:     []string{"prod", "staging"}[i%2],
		Allowed:         i%3 != 0,
		Gates:           []string{"license", "modelscan"},
		PolicyDigest:    fmt.Sprintf("sha256:p%d", i%2),
		ConfigDigest:    "sha256:c",
		EvidenceDigests: map[string]string{"license": "sha256:e" + strconv.Itoa(i)},
		Time:            t0.Add(time.Duration(i) * time.Minute),
	}
	if i%3 == 0 {
		d.Violations = []gates.Finding{{Gate: "modelscan", Rule: "unsafe_pickle", Severity: "critical", Message: "pickle global os.system"}}
	}
	if i%4 == 1 {
		d.Waived = []gates.AppliedWaiver{{Finding: gates.Finding{Gate: "license", Rule: "copyleft"}, Waiver: gates.Waiver{Subject: "models/*", Gate: "license", Ticket: "JIRA-7", Approver: "ana", Expires: t0.AddDate(0, 1, 0)}}}
	}
	return d
}

func appendN(t testing.TB, s Store, n int) []Entry {
	t.Helper()
	var out []Entry
	for i := 0; i < n; i++ {
		ctx := gates.WithRecordContext(context.Background(), gates.RecordContext{Door: DoorAdmission, Namespace: "ns" + strconv.Itoa(i%2), User: "u"})
		e, err := s.Append(ctx, NewEntry(ctx, sampleDecision(i)))
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		out = append(out, e)
	}
	return out
}

func newSigner(t testing.TB) (signature.SignerVerifier, []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := signature.LoadSignerVerifier(k, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cryptoutils.MarshalPublicKeyToPEM(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return sv, pub
}

func TestAppendChainsAndReads(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		s := b.open(t)
		if size, head, err := s.Head(ctx); err != nil || size != 0 || head != "" {
			t.Fatalf("empty head = %d %q %v", size, head, err)
		}
		written := appendN(t, s, 30)
		prev := ""
		for i, e := range written {
			if e.Seq != int64(i+1) || e.PrevHash != prev {
				t.Fatalf("entry %d: seq %d prev %q, want %d %q", i, e.Seq, e.PrevHash, i+1, prev)
			}
			if h, err := HashEntry(&e); err != nil || h != e.Hash {
				t.Fatalf("entry %d: hash %s, recomputed %s (%v)", e.Seq, e.Hash, h, err)
			}
			prev = e.Hash
		}
		size, head, err := s.Head(ctx)
		if err != nil || size != 30 || head != prev {
			t.Fatalf("head = %d %q %v, want 30 %q", size, head, err, prev)
		}
		var got []Entry
		if err := s.Range(ctx, 5, 9, func(e Entry) error { got = append(got, e); return nil }); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(written[4:9], got); diff != "" {
			t.Errorf("Range(5, 9) differs from what Append returned (-want +got):\n%s", diff)
		}
		// Reopening migrates nothing and keeps the chain.
		s.Close()
		s = b.open(t)
		if size, _, _ := s.Head(ctx); size != 30 {
			t.Errorf("after reopen: size %d, want 30", size)
		}
		if r, err := Verify(ctx, s, nil); err != nil || !r.OK || r.Entries != 30 {
			t.Errorf("Verify = %+v, %v", r, err)
		}
	})
}

func TestQuery(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		s := b.open(t)
		written := appendN(t, s, 40)
		// want: the seqs of written entries f selects, newest first.
		want := func(f func(e Entry) bool) []int64 {
			var out []int64
			for i := len(written) - 1; i >= 0; i-- {
				if f(written[i]) {
					out = append(out, written[i].Seq)
				}
			}
			return out
		}
		hasRule := func(e Entry, r string) bool {
			for _, f := range findingsOf(&e) {
				if f.Rule == r || f.Gate+"/"+f.Rule == r {
					return true
				}
			}
			return false
		}
		for _, tc := range []struct {
			name string
			q    Query
			f    func(Entry) bool
		}{
			{"all", Query{}, func(Entry) bool { return true }},
			{"digest", Query{Digest: written[3].Subject.Digest}, func(e Entry) bool { return e.Subject.Digest == written[3].Subject.Digest }},
			{"subject name", Query{Subject: "m2"}, func(e Entry) bool { return e.Subject.Name == "m2" }},
			{"subject ref", Query{Subject: "models/m2"}, func(e Entry) bool { return e.Subject.Ref == "models/m2" }},
			{"kind", Query{Kind: "model"}, func(e Entry) bool { return e.Subject.Kind == "model" }},
			{"environment", Query{Environment: "prod"}, func(e Entry) bool { return e.Environment == "prod" }},
			{"namespace", Query{Namespace: "ns1"}, func(e Entry) bool { return e.Namespace == "ns1" }},
			{"denied", Query{Verdict: "denied"}, func(e Entry) bool { return e.Verdict == "denied" }},
			{"allowed in prod", Query{Verdict: "allowed", Environment: "prod"}, func(e Entry) bool { return e.Verdict == "allowed" && e.Environment == "prod" }},
			{"gate", Query{Gate: "license"}, func(Entry) bool { return true }},
			{"unknown gate", Query{Gate: "nope"}, func(Entry) bool { return false }},
			{"rule", Query{Rule: "unsafe_pickle"}, func(e Entry) bool { return hasRule(e, "unsafe_pickle") }},
			{"gate/rule", Query{Rule: "license/copyleft"}, func(e Entry) bool { return hasRule(e, "license/copyleft") }},
			{"any waiver", Query{Waiver: "*"}, func(e Entry) bool { return len(e.Waived) > 0 }},
			{"waiver ticket", Query{Waiver: "JIRA-7"}, func(e Entry) bool { return len(e.Waived) > 0 }},
			{"policy", Query{PolicyDigest: "sha256:p1"}, func(e Entry) bool { return e.PolicyDigest == "sha256:p1" }},
			{"time range", Query{From: t0.Add(10 * time.Minute), To: t0.Add(20 * time.Minute)}, func(e Entry) bool {
				return !e.Time.Before(t0.Add(10*time.Minute)) && e.Time.Before(t0.Add(20*time.Minute))
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				es, next, err := s.Query(ctx, tc.q)
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, e := range es {
					got = append(got, e.Seq)
				}
				if diff := cmp.Diff(want(tc.f), got); diff != "" || next != "" {
					t.Errorf("seqs (-want +got):\n%s next %q", diff, next)
				}
			})
		}
		// Pages of 7 walk every entry once, newest first.
		var seqs []int64
		q := Query{Limit: 7}
		for pages := 0; ; pages++ {
			es, next, err := s.Query(ctx, q)
			if err != nil || pages > 10 {
				t.Fatalf("page %d: %v", pages, err)
			}
			for _, e := range es {
				seqs = append(seqs, e.Seq)
			}
			if next == "" {
				break
			}
			q.PageToken = next
		}
		if diff := cmp.Diff(want(func(Entry) bool { return true }), seqs); diff != "" {
			t.Errorf("paged seqs (-want +got):\n%s", diff)
		}
		for _, bad := range []Query{{Verdict: "maybe"}, {PageToken: "x"}, {PageToken: "-3"}} {
			if _, _, err := s.Query(ctx, bad); !errors.Is(err, ErrBadQuery) {
				t.Errorf("Query(%+v) error = %v, want ErrBadQuery", bad, err)
			}
		}
	})
}

func TestOpenDSN(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct{ dsn, wantErr string }{
		{"", "empty DSN"},
		{"mysql://u:hunter22@h/db", "unknown scheme"},
		{"sqlite:", "empty path"},
		{"sqlite:" + dir + "/a?b", "not supported"},
		{"sqlite:" + dir, "not a regular file"},
		{"sqlite:" + dir + "/missing/dir/a.db", "no such file"},
	} {
		s, err := Open(ctx, tc.dsn)
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", tc.dsn)
			continue
		}
		if !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "hunter22") {
			t.Errorf("Open(%q) = %v, want an error containing %q and no password", tc.dsn, err, tc.wantErr)
		}
	}
	// A plain path is SQLite, created 0600.
	p := filepath.Join(dir, "plain.db")
	s, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("plain path: %v %v, want a 0600 file", fi, err)
	}
}

// TestAppendFailureRollsBack: an append whose transaction fails (a row
// already holds its seq) returns an error, leaves no half-written batch
// and no open transaction, and the store appends again afterwards.
func TestAppendFailureRollsBack(t *testing.T) {
	eachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		s := b.open(t)
		appendN(t, s, 3)
		b.exec(t, `INSERT INTO audit_entries (seq, ts, door, kind, subject_ref, subject_name, digest, environment, namespace, verdict, policy_digest, prev_hash, hash, body) VALUES (4, 0, '', '', '', '', '', '', '', '', '', '', '', ?)`, []byte("{}"))
		for i := 0; i < 3; i++ { // every pooled connection sees the failure
			if _, err := s.Append(ctx, NewEntry(ctx, sampleDecision(i))); err == nil {
				t.Fatal("append over an occupied seq succeeded")
			}
		}
		if size, _, err := s.Head(ctx); err != nil || size != 3 {
			t.Fatalf("head after failed appends = %d, %v; want 3", size, err)
		}
		b.exec(t, `DELETE FROM audit_entries WHERE seq = 4`)
		for i := 0; i < 8; i++ {
			if _, err := s.Append(ctx, NewEntry(ctx, sampleDecision(i))); err != nil {
				t.Fatalf("append after the failure: %v", err)
			}
		}
		if r, err := Verify(ctx, s, nil); err != nil || !r.OK || r.Entries != 11 {
			t.Fatalf("Verify = %+v, %v", r, err)
		}
	})
}
