package main

import (
	"archive/zip"
	"bytes"
	bin "encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The scan model tests run the real binary on inputs that once read as
// "verified, 0 findings": special files, streams, empty and truncated
// files, malformed headers, and hostile names in the text output.

// evilModel is a pickle that runs posix.system on load (never unpickled).
const evilModel = "testdata/models/evil/model.pkl"

// stackGlobal builds a protocol 4 pickle importing module.name by STACK_GLOBAL.
func stackGlobal(module, name string) []byte {
	b := []byte{0x80, 4}
	for _, s := range []string{module, name} {
		b = append(b, 0x8c, byte(len(s)))
		b = append(b, s...)
		b = append(b, 0x94) // MEMOIZE
	}
	return append(b, 0x93, ')', 'R', '.') // STACK_GLOBAL, EMPTY_TUPLE, REDUCE, STOP
}

// startModel starts `gatehouse scan model args...` with stdin.
func startModel(t *testing.T, stdin io.Reader, args ...string) (*exec.Cmd, func() timedRun) {
	t.Helper()
	return startGatehouse(t, stdin, nil, append([]string{"scan", "model"}, args...)...)
}

func scanModel(t *testing.T, stdin io.Reader, args ...string) timedRun {
	t.Helper()
	_, wait := startModel(t, stdin, args...)
	return wait()
}

func safetensorsFile(header string, data int) []byte {
	b := bin.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), make([]byte, data)...)
}

func npyFile(descr, shape string, data int) []byte {
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape)
	h += strings.Repeat(" ", 63-(10+len(h))%64) + "\n"
	b := bin.LittleEndian.AppendUint16([]byte("\x93NUMPY\x01\x00"), uint16(len(h)))
	return append(append(b, h...), make([]byte, data)...)
}

func TestScanModelNotVerifiedInputs(t *testing.T) {
	clean, err := os.ReadFile(filepath.Join(repo, "testdata/models/clean/model.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := zip.NewWriter(&zb)
	w, _ := zw.Create("archive/data.pkl")
	w.Write(clean)
	zw.Close()
	noCentral := zb.Bytes()[:bytes.Index(zb.Bytes(), []byte("PK\x01\x02"))]

	dir := t.TempDir()
	files := map[string][]byte{
		"empty.bin":           nil,
		"truncated.pt":        noCentral,
		"short.npy":           npyFile("<f4", "(2, 3)", 8),
		"st-overlap":          safetensorsFile(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, 6),
		"st-past-data":        safetensorsFile(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, 4),
		"st-size-mismatch":    safetensorsFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,4]}}`, 4),
		"st-impossible-shape": safetensorsFile(`{"a":{"dtype":"F64","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}`, 4),
		"st-unknown-dtype":    safetensorsFile(`{"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,4]}}`, 4),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, path string
		says       string // in the output
	}{
		{"dev zero", "/dev/zero", "/dev/zero is a character device"},
		{"dev null", "/dev/null", "/dev/null is a character device"},
		{"dev urandom", "/dev/urandom", "/dev/urandom is a character device"},
		{"empty file", "empty.bin", "empty (0 bytes)"},
		{"zip without central directory", "truncated.pt", "no central directory"},
		{"npy shorter than its shape", "short.npy", "needs 24 data bytes but the file holds 8"},
		{"safetensors overlap", "st-overlap", "overlaps"},
		{"safetensors offsets past the data", "st-past-data", "past the 4-byte data section"},
		{"safetensors dtype*shape mismatch", "st-size-mismatch", "needs 16 bytes but data_offsets span 4"},
		{"safetensors impossible shape", "st-impossible-shape", "overflows"},
		{"safetensors unknown dtype", "st-unknown-dtype", "unknown dtype"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path
			if !filepath.IsAbs(p) {
				p = filepath.Join(dir, p)
			}
			for _, format := range []string{"text", "json"} {
				r := scanModel(t, nil, "--format", format, p)
				if r.code != 2 {
					t.Errorf("%s: exit %d, want 2 (not verified)\nstdout: %s\nstderr: %s", format, r.code, r.stdout, r.stderr)
				}
				if !strings.Contains(r.stdout, tc.says) {
					t.Errorf("%s: output does not say %q:\n%s", format, tc.says, r.stdout)
				}
				if strings.Contains(r.stdout, "CRITICAL") || strings.Contains(r.stdout, `"severity"`) {
					t.Errorf("%s: a malformed or unreadable input is reported as a finding:\n%s", format, r.stdout)
				}
			}
		})
	}
}

func TestScanModelStreams(t *testing.T) {
	evil, err := os.ReadFile(filepath.Join(repo, evilModel))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("stdin pipe with an evil pickle", func(t *testing.T) {
		r := scanModel(t, bytes.NewReader(evil), "/dev/stdin")
		if r.code != 1 || !strings.Contains(r.stdout, "posix.system") {
			t.Fatalf("exit %d, want 1 and the finding\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("FIFO fed with an evil pickle", func(t *testing.T) {
		p := namedFIFO(t, "model.pkl")
		go func() {
			w, err := os.OpenFile(p, os.O_WRONLY, 0) // waits for the scan to open the reading end
			if err == nil {
				w.Write(evil)
				w.Close()
			}
		}()
		r := scanModel(t, nil, p)
		if r.code != 1 || !strings.Contains(r.stdout, "posix.system") {
			t.Fatalf("exit %d, want 1 and the finding\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("FIFO with no writer", func(t *testing.T) {
		r := scanModel(t, nil, namedFIFO(t, "model.pkl"))
		if r.code != 2 || r.took > 2*time.Second {
			t.Fatalf("exit %d after %v, want 2 within 2 s\nstdout: %s\nstderr: %s", r.code, r.took, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "no process opened it for writing") {
			t.Errorf("output does not say why:\n%s", r.stdout)
		}
	})
	t.Run("SIGTERM ends a FIFO with a silent writer", func(t *testing.T) {
		p := namedFIFO(t, "model.pkl")
		cmd, wait := startModel(t, nil, p)
		w, err := os.OpenFile(p, os.O_WRONLY, 0) // returns once the scan holds the reading end
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		time.Sleep(1500 * time.Millisecond) // past the wait for a writer: only the signal can end it now
		sent := time.Now()
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		r := wait()
		if after := time.Since(sent); r.code != 2 || after > 2*time.Second {
			t.Fatalf("exit %d %v after SIGTERM, want 2 within 2 s\nstdout: %s\nstderr: %s", r.code, after, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "interrupted") || !strings.Contains(r.stderr, "not decided") {
			t.Errorf("stderr does not say the run was interrupted and not decided: %s", r.stderr)
		}
		if strings.Contains(r.stdout, "verified") {
			t.Errorf("an interrupted run printed a verdict: %s", r.stdout)
		}
	})
}

func TestScanModelFoundBeatsNotVerified(t *testing.T) {
	evil, err := os.ReadFile(filepath.Join(repo, evilModel))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "evil.pkl"), evil, 0o644)
	os.WriteFile(filepath.Join(dir, "broken.safetensors"), safetensorsFile(`{"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,4]}}`, 4), 0o644)
	os.WriteFile(filepath.Join(dir, "locked.bin"), evil, 0o000)
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	unread := []string{"broken.safetensors", "pipe"}
	if os.Geteuid() != 0 { // root reads a 0000 file anyway
		unread = append(unread, "locked.bin")
	} else {
		t.Log("running as root: locked.bin is readable, so it is not expected among the unread")
	}
	r := scanModel(t, nil, dir)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (found beats not verified)\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "CRITICAL evil.pkl@") {
		t.Errorf("finding not reported:\n%s", r.stdout)
	}
	for _, u := range unread {
		if !strings.Contains(r.stdout, "UNREAD   "+u) {
			t.Errorf("%s not reported as not verified:\n%s", u, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "finding(s) at or above medium; also") || !strings.Contains(r.stderr, "could not be verified") {
		t.Errorf("stderr does not say both: %s", r.stderr)
	}
}

func TestScanModelTextEscapesNames(t *testing.T) {
	dir := t.TempDir()
	cases := map[string][]byte{
		"newline.pkl":             stackGlobal("os\n::error::x", "system"),
		"cr.pkl":                  stackGlobal("os", "system\r::error::y"),
		"esc.pkl":                 stackGlobal("os\x1b]0;title\x07", "system"),
		"file\n::error::name.pkl": stackGlobal("os", "system"),
	}
	for name, data := range cases {
		t.Run(strings.ToValidUTF8(name, "?"), func(t *testing.T) {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			r := scanModel(t, nil, p)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			for _, out := range []string{r.stdout, r.stderr} {
				for _, line := range strings.Split(out, "\n") {
					if strings.HasPrefix(line, "::") || strings.ContainsAny(line, "\r\x1b\x07") {
						t.Errorf("a hostile name broke out of its line: %q", line)
					}
				}
			}
		})
	}
}
