package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/google/go-cmp/cmp"
)

func TestRedact(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		n        int
	}{
		{"plain message about os.system", "plain message about os.system", 0},
		{"key AKIAABCDEFGHIJKLMNOP in cell B2", "key [REDACTED] in cell B2", 1},
		{"token ghp_" + strings.Repeat("a", 36), "token [REDACTED]", 1},
		{"password=hunter22 and api_key: 's3cr3tv4lue'", "password=[REDACTED] and api_key: '[REDACTED]'", 2},
		{"clone https://bob:pa55w0rd@git.example.com/x", "clone https://bob:[REDACTED]@git.example.com/x", 1},
		{"Authorization: Bearer abcdefghijklmnop0123", "Authorization: Bearer [REDACTED]", 1},
		{"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY----- tail", "[REDACTED] tail", 1},
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig", "jwt [REDACTED]", 1},
		{"token=ghp_" + strings.Repeat("b", 36), "token=[REDACTED]", 1},
	} {
		got, n := Redact(tc.in)
		if got != tc.want || n != tc.n {
			t.Errorf("Redact(%q) = %q, %d; want %q, %d", tc.in, got, n, tc.want, tc.n)
		}
	}
}

func TestNewEntry(t *testing.T) {
	t.Setenv("GITHUB_SERVER_URL", "https://github.com")
	t.Setenv("GITHUB_REPOSITORY", "acme/models")
	t.Setenv("GITHUB_RUN_ID", "42")
	t.Setenv("GITHUB_RUN_ATTEMPT", "2")
	t.Setenv("GITHUB_SHA", "abc123")
	t.Setenv("GITHUB_WORKFLOW", "gate")
	t.Setenv("POD_NAME", "gatehouse-7d9")
	d := sampleDecision(0)
	d.Violations = []gates.Finding{{Gate: "pii", Rule: "secret", Message: "found AKIAABCDEFGHIJKLMNOP in data.csv"}}
	ctx := gates.WithRecordContext(context.Background(), gates.RecordContext{Door: DoorAdmission, Namespace: "ml", User: "alice", RequestUID: "r-1", Name: "pod-a"})
	e := NewEntry(ctx, d)
	want := Decider{CIRunURL: "https://github.com/acme/models/actions/runs/42/attempts/2", Commit: "abc123", Repository: "acme/models", Workflow: "gate", Replica: "gatehouse-7d9", User: "alice", RequestUID: "r-1"}
	if diff := cmp.Diff(want, e.Decider); diff != "" {
		t.Errorf("decider (-want +got):\n%s", diff)
	}
	if e.Door != DoorAdmission || e.Namespace != "ml" || e.Verdict != gates.VerdictDenied || e.Redactions != 1 || !e.Time.Equal(d.Time) {
		t.Errorf("entry = door %q ns %q verdict %q redactions %d time %v", e.Door, e.Namespace, e.Verdict, e.Redactions, e.Time)
	}
	if strings.Contains(e.Violations[0].Message, "AKIA") || !strings.Contains(d.Violations[0].Message, "AKIA") {
		t.Errorf("entry message %q (must be redacted), decision message %q (must be left alone)", e.Violations[0].Message, d.Violations[0].Message)
	}
	if e := NewEntry(context.Background(), d); e.Door != DoorCheck {
		t.Errorf("door without a record context = %q, want check", e.Door)
	}
}

func TestCanonical(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{`{"b":1,"a":[true,null,"x<y"]}`, `{"a":[true,null,"x<y"],"b":1}`, ""},
		{` { "a" : "\u00e9\n\u0001" } `, "{\"a\":\"é\\n\\u0001\"}", ""},
		{`{"a":1,"a":2}`, "", "duplicate key"},
		{`{"a":1.5}`, "", "not an integer"},
		{`{"a":1} x`, "", "after the document"},
		{"\"\xff\"", "", "UTF-8"},
		{strings.Repeat("[", 100) + strings.Repeat("]", 100), "", "nested"},
		{`{"a":`, "", "EOF"},
	} {
		got, err := Canonical([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Canonical(%q) = %q, %v; want error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("Canonical(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func FuzzCanonical(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x"]}`, `"\u2028<>&"`, `[{"z":{"y":-0}}]`, `{"a":1,"a":2}`, `1e3`, `{"seq":1,"prev_hash":"","hash":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Canonical(in)
		if err != nil {
			return
		}
		// Canonical is a fixed point and means what the input meant.
		c2, err := Canonical(c)
		if err != nil || !bytes.Equal(c, c2) {
			t.Fatalf("Canonical not idempotent: %q -> %q -> %q (%v)", in, c, c2, err)
		}
		var a, b any
		da, db := json.NewDecoder(bytes.NewReader(in)), json.NewDecoder(bytes.NewReader(c))
		da.UseNumber()
		db.UseNumber()
		if da.Decode(&a) != nil || db.Decode(&b) != nil {
			t.Fatalf("canonical form of %q does not decode: %q", in, c)
		}
		if !json.Valid(c) {
			t.Fatalf("invalid JSON %q", c)
		}
		// The encoder appends use writes the same bytes.
		var out bytes.Buffer
		canonAny(&out, b)
		if !bytes.Equal(out.Bytes(), c) {
			t.Fatalf("canonAny(%q) = %q, Canonical = %q", in, out.Bytes(), c)
		}
	})
}
