package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/gatehouse-dev/gatehouse/audit"
	"github.com/gatehouse-dev/gatehouse/gates"
)

// auditKeyPair writes an ECDSA P-256 key pair (PKCS#8 and PKIX PEM).
func auditKeyPair(t *testing.T, dir string) (priv, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pder, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	priv, pub = filepath.Join(dir, "audit.key"), filepath.Join(dir, "audit.pub")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644)
	return priv, pub
}

// TestAuditThroughTheBinary records two check runs into a SQLite log, then
// queries (table, JSON, CSV), verifies, reports and exports it, verifies
// the export offline, tampers with the database and sees verify name the
// entry.
func TestAuditThroughTheBinary(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "audit.db")
	dsn := "sqlite:" + db
	priv, pub := auditKeyPair(t, dir)
	gh := []string{"GITHUB_SERVER_URL=https://github.com", "GITHUB_REPOSITORY=acme/api", "GITHUB_RUN_ID=4242", "GITHUB_RUN_ATTEMPT=", "GITHUB_SHA=0123abcd"}

	if r := gatehouse(t, gh, "check", "--audit", dsn, "--audit-key", priv, "--evidence", "sonarqube=testdata/sonarqube/error.json", image); r.code != 1 {
		t.Fatalf("denied run: exit %d, want 1\n%s", r.code, r.stderr)
	}
	if r := gatehouse(t, gh, "check", "--audit", dsn, "--audit-key", priv, "--evidence", "sonarqube=testdata/sonarqube/ok.json", image); r.code != 0 {
		t.Fatalf("allowed run: exit %d, want 0\n%s", r.code, r.stderr)
	}

	r := gatehouse(t, nil, "audit", "query", "--db", dsn, "--format", "json")
	if r.code != 0 {
		t.Fatalf("query json: exit %d\n%s", r.code, r.stderr)
	}
	var page struct {
		Decisions []audit.Entry `json:"decisions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil {
		t.Fatalf("query json: %v\n%s", err, r.stdout)
	}
	if len(page.Decisions) != 2 {
		t.Fatalf("query json: %d decisions, want 2", len(page.Decisions))
	}
	newest, oldest := page.Decisions[0], page.Decisions[1]
	if oldest.Seq != 1 || newest.Seq != 2 || oldest.Verdict != gates.VerdictDenied || newest.Verdict != gates.VerdictAllowed {
		t.Errorf("entries: seq %d %s, seq %d %s; want 1 denied, 2 allowed", oldest.Seq, oldest.Verdict, newest.Seq, newest.Verdict)
	}
	for _, e := range page.Decisions {
		if e.Door != "check" || e.Decider.CIRunURL != "https://github.com/acme/api/actions/runs/4242" || e.Decider.Commit != "0123abcd" ||
			e.Subject.Digest == "" || e.PolicyDigest == "" || e.Environment != "dev" {
			t.Errorf("seq %d: door %q decider %+v digest %q policy %q env %q", e.Seq, e.Door, e.Decider, e.Subject.Digest, e.PolicyDigest, e.Environment)
		}
	}
	if newest.PrevHash != oldest.Hash {
		t.Errorf("seq 2 prev_hash %s, want seq 1's hash %s", newest.PrevHash, oldest.Hash)
	}

	r = gatehouse(t, nil, "audit", "query", "--db", dsn, "--verdict", "denied", "--format", "csv")
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if r.code != 0 || err != nil || len(rows) != 2 || rows[1][0] != "1" || rows[1][3] != "denied" {
		t.Errorf("query csv --verdict denied: exit %d err %v rows %q\n%s", r.code, err, rows, r.stderr)
	}
	r = gatehouse(t, nil, "audit", "query", "--db", dsn, "--rule", "sonarqube/quality_gate", "--limit", "1")
	if r.code != 0 || !strings.Contains(r.stdout, "SEQ") || !strings.Contains(r.stdout, "denied") || strings.Contains(r.stdout, "allowed") {
		t.Errorf("query table --rule: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	r = gatehouse(t, nil, "audit", "verify", "--db", dsn, "--key", pub)
	if r.code != 0 || !strings.Contains(r.stdout, "verified: 2 entries") {
		t.Fatalf("verify: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "warning") {
		t.Errorf("verify with the key and a checkpoint at the head warns:\n%s", r.stderr)
	}

	// Yesterday through today (a date --to includes the day): no flake at midnight.
	from, day := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly), time.Now().UTC().Format(time.DateOnly)
	report := filepath.Join(dir, "report.html")
	r = gatehouse(t, nil, "audit", "report", "--db", dsn, "--from", from, "--to", day, "--out", report)
	if r.code != 0 {
		t.Fatalf("report: exit %d\n%s", r.code, r.stderr)
	}
	html, _ := os.ReadFile(report)
	for _, want := range []string{`id="total">2<`, `id="denied">1<`, `id="allowed">1<`, `data-series="sonarqube"`} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("report lacks %s", want)
		}
	}

	bundle := filepath.Join(dir, "bundle.zip")
	if r = gatehouse(t, nil, "audit", "export", "--db", dsn, "--out", bundle, "--key", pub); r.code != 0 {
		t.Fatalf("export: exit %d\n%s", r.code, r.stderr)
	}
	if r = gatehouse(t, nil, "audit", "verify", "--bundle", bundle); r.code != 0 || !strings.Contains(r.stdout, "verified: 2 entries") {
		t.Fatalf("verify --bundle: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// An insider flips the first denial to "allowed" in the database.
	sdb, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sdb.Exec(`UPDATE audit_entries SET verdict = 'allowed', body = CAST(replace(CAST(body AS TEXT), '"verdict":"denied"', '"verdict":"allowed"') AS BLOB) WHERE seq = 1`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tamper: %d rows changed", n)
	}
	sdb.Close()
	r = gatehouse(t, nil, "audit", "verify", "--db", dsn, "--key", pub)
	if r.code != 1 || !strings.Contains(r.stderr, "entry 1") {
		t.Fatalf("verify after tampering: exit %d, want 1 naming entry 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The export taken before still verifies: the auditor's copy stands.
	if r = gatehouse(t, nil, "audit", "verify", "--bundle", bundle); r.code != 0 {
		t.Errorf("verify --bundle after the database was changed: exit %d\n%s", r.code, r.stderr)
	}
}

func TestAuditCommandErrors(t *testing.T) {
	dir := t.TempDir()
	dsn := "sqlite:" + filepath.Join(dir, "a.db")
	garbage := filepath.Join(dir, "garbage.zip")
	os.WriteFile(garbage, []byte("not a zip"), 0o644)
	notKey := filepath.Join(dir, "not.pem")
	os.WriteFile(notKey, []byte("hello"), 0o644)
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{"verify without --db", []string{"audit", "verify"}, "--db is required"},
		{"verify bad scheme", []string{"audit", "verify", "--db", "mysql://x/y"}, "unknown scheme"},
		{"verify bad key", []string{"audit", "verify", "--db", dsn, "--key", notKey}, "not.pem"},
		{"verify bundle and db", []string{"audit", "verify", "--db", dsn, "--bundle", garbage}, "excludes --db"},
		{"verify garbage bundle", []string{"audit", "verify", "--bundle", garbage}, "garbage.zip"},
		{"verify missing bundle", []string{"audit", "verify", "--bundle", filepath.Join(dir, "none.zip")}, "none.zip"},
		{"query bad format", []string{"audit", "query", "--db", dsn, "--format", "xml"}, "want table, json or csv"},
		{"query bad verdict", []string{"audit", "query", "--db", dsn, "--verdict", "maybe"}, `verdict "maybe"`},
		{"query bad time", []string{"audit", "query", "--db", dsn, "--from", "yesterday"}, `from: "yesterday"`},
		{"query bad limit", []string{"audit", "query", "--db", dsn, "--limit", "0"}, `limit "0"`},
		{"report without period", []string{"audit", "report", "--db", dsn, "--out", filepath.Join(dir, "r.html")}, "--from and --to are required"},
		{"report backwards", []string{"audit", "report", "--db", dsn, "--from", "2026-02-01", "--to", "2026-01-01", "--out", filepath.Join(dir, "r.html")}, "before"},
		{"report without out", []string{"audit", "report", "--db", dsn, "--from", "2026-01-01", "--to", "2026-02-01"}, "--out is required"},
		{"export without out", []string{"audit", "export", "--db", dsn}, "--out is required"},
		{"check audit-key without audit", []string{"check", "--audit-key", notKey, "--evidence", "sonarqube=testdata/sonarqube/ok.json", image}, "--audit-key needs --audit"},
		{"check bad audit key", []string{"check", "--audit", dsn, "--audit-key", notKey, "--evidence", "sonarqube=testdata/sonarqube/ok.json", image}, "--audit-key"},
		{"check jsonl audit", []string{"check", "--audit", "jsonl:" + filepath.Join(dir, "a.jsonl"), "--evidence", "sonarqube=testdata/sonarqube/ok.json", image}, "not the audit log"},
		{"check bad audit dsn", []string{"check", "--audit", "mysql://x/y", "--evidence", "sonarqube=testdata/sonarqube/ok.json", image}, "--audit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gatehouse(t, nil, tt.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tt.wantStderr) {
				t.Errorf("exit %d, want 2 with %q on stderr\n%s", r.code, tt.wantStderr, r.stderr)
			}
		})
	}
}

// TestAuditQueryOutputsResistHostileStrings: a subject reference holding
// line breaks, a tab, a terminal escape and a workflow command stays one
// row of the table, and a CSV cell starting with = is defused.
func TestAuditQueryOutputsResistHostileStrings(t *testing.T) {
	e := audit.Entry{Seq: 7, Time: time.Unix(0, 0), Door: "check", Verdict: gates.VerdictDenied,
		Subject:    gates.Subject{Kind: gates.KindModel, Ref: "m\n::error::pwned\t\x1b[31mred"},
		Violations: []gates.Finding{{Gate: "license", Rule: "=HYPERLINK(\"http://x\")"}},
		Decider:    audit.Decider{User: "@admin"}}
	var b bytes.Buffer
	if err := writeEntries(&b, "table", []audit.Entry{e}, ""); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 || strings.ContainsAny(b.String(), "\t\x1b") || strings.Contains(b.String(), "::error::") {
		t.Errorf("table output broken by the subject:\n%q", b.String())
	}
	b.Reset()
	if err := writeEntries(&b, "csv", []audit.Entry{e}, ""); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("csv: %v %q", err, rows)
	}
	for _, cell := range rows[1] {
		if cell != "" && strings.ContainsRune("=+-@", rune(cell[0])) {
			t.Errorf("csv cell a spreadsheet would run: %q", cell)
		}
	}
	if !strings.Contains(strings.Join(rows[1], ","), `'license/=HYPERLINK`) && !strings.Contains(strings.Join(rows[1], ","), `'@admin`) {
		t.Errorf("csv: formula cells not prefixed: %q", rows[1])
	}
}

// TestServeRecordsIntoTheAuditLog runs the real webhook with --audit
// sqlite: and --audit-key: a review is recorded with the admission
// context, and after SIGTERM the last checkpoint covers it, so verify
// with the key passes without a warning.
func TestServeRecordsIntoTheAuditLog(t *testing.T) {
	cfg := serveConfig(t)
	dir := t.TempDir()
	priv, pub := auditKeyPair(t, dir)
	dsn := "sqlite:" + filepath.Join(dir, "audit.db")
	srv := startServe(t, "--config", cfg, "--audit", dsn, "--audit-key", priv)
	cmd, done, logs, client, addr := srv.cmd, srv.done, &srv.logs, srv.client, srv.addr
	review := `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-audit-1",` +
		`"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},` +
		`"namespace":"team","operation":"CREATE","userInfo":{"username":"alice"},` +
		`"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"127.0.0.1:1/acme/api@sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"}]}}}}`
	resp, err := client.Post("https://"+addr+"/validate", "application/json", strings.NewReader(review))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("still running 20s after SIGTERM")
	}

	r := gatehouse(t, nil, "audit", "query", "--db", dsn, "--format", "json")
	var page struct {
		Decisions []audit.Entry `json:"decisions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &page); r.code != 0 || err != nil {
		t.Fatalf("query: exit %d %v\n%s", r.code, err, r.stderr)
	}
	if len(page.Decisions) == 0 {
		t.Fatalf("the review was not recorded; logs:\n%s", logs.String())
	}
	e := page.Decisions[0]
	if e.Door != "admission" || e.Namespace != "team" || e.Decider.RequestUID != "u-audit-1" || e.Decider.User != "alice" {
		t.Errorf("recorded entry: door %q namespace %q decider %+v", e.Door, e.Namespace, e.Decider)
	}
	r = gatehouse(t, nil, "audit", "verify", "--db", dsn, "--key", pub)
	if r.code != 0 || strings.Contains(r.stderr, "warning") || strings.Contains(r.stderr, "not yet signed") {
		t.Errorf("verify after shutdown: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
