package admission

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/gates"
)

func testDecision(i int) *gates.Decision {
	return &gates.Decision{
		Subject:      gates.Subject{Kind: gates.KindImage, Ref: fmt.Sprintf("ghcr.io/acme/api:%d", i), Digest: "sha256:" + strings.Repeat("a", 64)},
		Environment:  "prod",
		Allowed:      i%2 == 0,
		Gates:        []string{"admission"},
		Violations:   []gates.Finding{{Gate: "admission", Rule: "unsigned", Message: "no signature verifies"}},
		PolicyDigest: "sha256:" + strings.Repeat("b", 64),
		Time:         time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
	}
}

func readLines(t *testing.T, path string) []JSONLRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []JSONLRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var r JSONLRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %d is not JSON: %v: %.200s", len(out)+1, err, sc.Text())
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestJSONLRecorderAppendsWithContext(t *testing.T) {
	for _, sync := range []string{SyncAlways, SyncInterval, SyncNever} {
		t.Run(sync, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			os.WriteFile(path, []byte(`{"verdict":"allowed","decision":null,"time":"2026-01-01T00:00:00Z"}`+"\n"), 0o600)
			r, err := OpenJSONL(path, JSONLOptions{Sync: sync, Interval: 10 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			rc := gates.RecordContext{Door: "admission", Namespace: "ml", User: "alice", RequestUID: "u1", Kind: "Pod", Name: "p", Operation: "CREATE"}
			if err := r.Record(gates.WithRecordContext(context.Background(), rc), testDecision(1)); err != nil {
				t.Fatal(err)
			}
			if err := r.Record(context.Background(), testDecision(2)); err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if err := r.Record(context.Background(), testDecision(3)); err == nil {
				t.Error("Record after Close succeeded")
			}
			lines := readLines(t, path)
			if len(lines) != 3 {
				t.Fatalf("%d lines, want the existing one and two appended", len(lines))
			}
			if lines[1].Context == nil || *lines[1].Context != rc {
				t.Errorf("context = %+v, want %+v", lines[1].Context, rc)
			}
			if lines[2].Context != nil {
				t.Errorf("a decision recorded without context has %+v", lines[2].Context)
			}
			if diff := cmp.Diff(testDecision(1), lines[1].Decision); diff != "" {
				t.Errorf("decision round trip (-want +got):\n%s", diff)
			}
			if lines[1].Verdict != gates.VerdictDenied || lines[2].Verdict != gates.VerdictDenied {
				t.Errorf("verdicts %q, %q; want denied (both carry a violation)", lines[1].Verdict, lines[2].Verdict)
			}
		})
	}
}

func TestJSONLRecorderConcurrentLinesIntact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	r, err := OpenJSONL(path, JSONLOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if err := r.Record(context.Background(), testDecision(i)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	r.Close()
	if n := len(readLines(t, path)); n != 400 {
		t.Fatalf("%d lines, want 400", n)
	}
}

func TestJSONLRecorderBoundsLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	const max = 4096
	r, err := OpenJSONL(path, JSONLOptions{MaxLineBytes: max})
	if err != nil {
		t.Fatal(err)
	}
	d := testDecision(0)
	for i := 0; i < 500; i++ {
		d.Violations = append(d.Violations, gates.Finding{Gate: "admission", Rule: "r", Message: strings.Repeat("x", 100)})
		d.Warnings = append(d.Warnings, gates.Finding{Gate: "admission", Rule: "w", Message: strings.Repeat("y", 100)})
	}
	huge := testDecision(1)
	huge.Subject.Ref = strings.Repeat("r", 1<<20)
	huge.Violations[0].Message = strings.Repeat("m", 1<<20)
	for _, dec := range []*gates.Decision{d, huge} {
		if err := r.Record(context.Background(), dec); err != nil {
			t.Fatal(err)
		}
	}
	r.Close()
	b, _ := os.ReadFile(path)
	for i, line := range strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n") {
		if len(line) > max {
			t.Errorf("line %d is %d bytes, bound %d", i+1, len(line), max)
		}
	}
	lines := readLines(t, path)
	for i, l := range lines {
		if !l.Truncated || l.Verdict != gates.VerdictDenied || l.Decision.Subject.Digest == "" || l.Decision.PolicyDigest == "" || len(l.Decision.Violations) == 0 {
			t.Errorf("line %d: truncated=%v verdict=%q digest=%q violations=%d; want a marked summary keeping verdict, digests and a violation",
				i+1, l.Truncated, l.Verdict, l.Decision.Subject.Digest, len(l.Decision.Violations))
		}
	}
}

func TestJSONLRecorderRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := OpenJSONL(fifo, JSONLOptions{})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a FIFO was accepted as the audit file")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("opening a FIFO with no reader hung")
	}
	if _, err := OpenJSONL(dir, JSONLOptions{}); err == nil {
		t.Fatal("a directory was accepted as the audit file")
	}
	if _, err := OpenJSONL(filepath.Join(dir, "a.jsonl"), JSONLOptions{Sync: "sometimes"}); err == nil || !strings.Contains(err.Error(), "sometimes") {
		t.Fatalf("bad sync policy: %v", err)
	}
}
