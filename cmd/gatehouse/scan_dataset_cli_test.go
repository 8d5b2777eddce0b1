package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The scan dataset (and scan license / modelcard / modelscan-report) CLI
// tests run the real binary on inputs that once hung or read as clean:
// FIFOs, devices, empty files, interrupted scans and hostile column names.

// TestScanSpecialInputs: a FIFO with no writer, devices and empty files
// end in exit 2 (not decided) within 2 s, never in "clean after 0 bytes".
func TestScanSpecialInputs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "rows.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty.csv", "")
	header := write("header.csv", "email,phone\n")
	emptyDir := filepath.Join(dir, "nothing")
	os.Mkdir(emptyDir, 0o755)
	for _, tt := range []struct {
		name string
		args []string
		want string // on stderr or stdout
	}{
		{"dataset FIFO without writer", []string{"scan", "dataset", fifo}, "FIFO"},
		{"dataset FIFO as json", []string{"scan", "dataset", "--format", "json", fifo}, "FIFO"},
		{"dataset /dev/zero", []string{"scan", "dataset", "/dev/zero"}, "character device"},
		{"dataset /dev/null", []string{"scan", "dataset", "/dev/null"}, "character device"},
		{"dataset empty file", []string{"scan", "dataset", empty}, "empty"},
		{"dataset header only", []string{"scan", "dataset", header}, "empty"},
		{"dataset empty folder", []string{"scan", "dataset", emptyDir}, "nothing was verified"},
		{"license FIFO", []string{"scan", "license", fifo}, "FIFO"},
		{"license /dev/zero", []string{"scan", "license", "/dev/zero"}, "character device"},
		{"modelcard FIFO", []string{"scan", "modelcard", fifo}, "FIFO"},
		{"modelcard /dev/zero", []string{"scan", "modelcard", "/dev/zero"}, "character device"},
		{"modelscan-report FIFO", []string{"scan", "modelscan-report", fifo}, "FIFO"},
		{"modelscan-report /dev/zero", []string{"scan", "modelscan-report", "/dev/zero"}, "character device"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runTimed(t, tt.args...)
			if r.code != exitUndecided {
				t.Errorf("exit %d, want 2; stdout %q stderr %q", r.code, r.stdout, r.stderr)
			}
			if r.took > 2*time.Second {
				t.Errorf("took %v, want under 2 s", r.took)
			}
			if !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Errorf("output does not say %q: stdout %q stderr %q", tt.want, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout, "0 finding(s)") && !strings.Contains(r.stdout, "not verified") {
				t.Errorf("reported clean: %q", r.stdout)
			}
		})
	}
}

// writeCSV writes about size bytes of CSV rows holding e-mail addresses.
func writeCSV(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("id,name,email,note\n")
	var row []byte
	for n, i := 0, 0; n < size; i++ {
		row = strconv.AppendInt(row[:0], int64(i), 10)
		row = append(row, ",Ada Lovelace,ada"...)
		row = strconv.AppendInt(row, int64(i%9973), 10)
		row = append(row, "@example.com,the order arrived late and the customer asked for a refund\n"...)
		w.Write(row)
		n += len(row)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// readOffset is the read position of the process's descriptor open on
// path, from /proc (-1 while it has none).
func readOffset(pid int, path string) int64 {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err != nil || l != path {
			continue
		}
		info, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd.Name()))
		if err != nil {
			return -1
		}
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "pos:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				return n
			}
		}
	}
	return -1
}

// TestScanDatasetInterrupted signals a scan of a large CSV while it is
// reading the file (4 MiB in, seen in /proc/PID/fdinfo): it exits 2 within 2 s saying "interrupted, not
// decided", with no verdict ("no PII", "finding(s)") on stdout.
func TestScanDatasetInterrupted(t *testing.T) {
	if _, err := os.Stat("/proc/self/fdinfo"); err != nil {
		t.Skip("needs /proc/PID/fdinfo to see the scan reading the file:", err)
	}
	const size = 64 << 20
	big := filepath.Join(t.TempDir(), "big.csv")
	writeCSV(t, big, size)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		for _, format := range []string{"text", "json"} {
			t.Run(sig.String()+" "+format, func(t *testing.T) {
				cmd, wait := startGatehouse(t, nil, nil, "scan", "dataset", "--format", format, big)
				// Signal mid-file, past the first buffers: the row loop must stop.
				var pos int64 = -1
				for deadline := time.Now().Add(5 * time.Second); pos < 4<<20 && time.Now().Before(deadline); {
					time.Sleep(time.Millisecond)
					pos = readOffset(cmd.Process.Pid, big)
				}
				if pos < 4<<20 || pos >= size {
					t.Fatalf("read position %d of %d: the scan was not seen mid-file", pos, size)
				}
				signalled := time.Now()
				cmd.Process.Signal(sig)
				r := wait()
				if d := time.Since(signalled); d > 2*time.Second {
					t.Errorf("exited %v after the signal, want under 2 s", d)
				}
				t.Logf("signalled at byte %d of %d; exited %v later", pos, size, time.Since(signalled))
				if r.code != exitUndecided || !strings.Contains(r.stderr, "interrupted, not decided") {
					t.Fatalf("exit %d, stderr %q; want 2 and \"interrupted, not decided\"", r.code, r.stderr)
				}
				if r.stdout != "" {
					t.Errorf("stdout holds a verdict after the interrupt: %q", r.stdout)
				}
			})
		}
	}
}

// TestScanDatasetEscapesNames: a column named "x\n::error::pwn" (and a file
// named like a workflow command) stays on its own line of the text output,
// escaped; the JSON output keeps it exact and names the subject.
func TestScanDatasetEscapesNames(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "::warning::x.csv")
	data := "\"x\n::error::pwn\",\"name\r\n::add-mask::y\"\nada@example.com,Grace Hopper\nalan@example.org,Alan Turing\n"
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runTimed(t, "scan", "dataset", p)
	if r.code != exitDenied {
		t.Fatalf("exit %d, want 1 (PII found); stderr %q", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], "FILE") || !strings.Contains(lines[len(lines)-1], "finding(s)") {
		t.Fatalf("text output is not header, findings, summary:\n%s", r.stdout)
	}
	for _, l := range lines {
		if strings.Contains(l, "::") || strings.ContainsRune(l, '\r') {
			t.Errorf("line holds a workflow command or a carriage return: %q", l)
		}
	}
	for _, l := range lines[1 : len(lines)-1] {
		// (encoding/csv reads "\r\n" inside a quoted field as "\n".)
		if !strings.Contains(l, `x\n:\x3aerror:\x3apwn`) && !strings.Contains(l, `name\n:\x3aadd-mask:\x3ay`) {
			t.Errorf("finding line does not show its column escaped: %q", l)
		}
	}

	r = runTimed(t, "scan", "dataset", "--format", "json", p)
	var ev struct {
		Subject  struct{ Path string }
		Findings []struct{ Column string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatalf("json output: %v\n%s", err, r.stdout)
	}
	if ev.Subject.Path != p {
		t.Errorf("subject.path = %q, want %q", ev.Subject.Path, p)
	}
	cols := map[string]bool{}
	for _, f := range ev.Findings {
		cols[f.Column] = true
	}
	if !cols["x\n::error::pwn"] {
		t.Errorf("json columns %v lack the exact column name", cols)
	}
}

// TestScanEvidenceNamesSubject: the json reports of scan license and scan
// modelcard name the path they scanned, as given.
func TestScanEvidenceNamesSubject(t *testing.T) {
	for _, tt := range []struct {
		args []string
		path string
	}{
		{[]string{"scan", "license", "--format", "json"}, "testdata/models/clean"},
		{[]string{"scan", "modelcard", "--format", "json"}, "testdata/models/clean"},
		{[]string{"scan", "dataset", "--format", "json"}, "scanners/pii/testdata/labelled/customers.csv"},
	} {
		t.Run(tt.args[1], func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(repo, tt.path)); err != nil {
				t.Skipf("fixture %s: %v", tt.path, err)
			}
			r := runTimed(t, append(tt.args, tt.path)...)
			var doc struct {
				Subject *struct{ Path string }
			}
			if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
				t.Fatalf("exit %d: json output: %v\n%s%s", r.code, err, r.stdout, r.stderr)
			}
			if doc.Subject == nil || doc.Subject.Path != tt.path {
				t.Errorf("subject = %+v, want path %q", doc.Subject, tt.path)
			}
		})
	}
}
