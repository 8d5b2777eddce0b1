package model

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/google/go-cmp/cmp"
)

// TestNeverCleanAfterNothing: inputs that hold nothing to judge, or less
// than they claim, are not verified; none is clean.
func TestNeverCleanAfterNothing(t *testing.T) {
	whole := zipOf(t, zm{"archive/data.pkl", benignPickle, zip.Store})
	eocd := bytes.LastIndex(whole, []byte("PK\x01\x02")) // first central directory entry
	st := func(h string, data []byte) []byte {
		return append(append(binary.LittleEndian.AppendUint64(nil, uint64(len(h))), h...), data...)
	}
	cases := []struct {
		name, file string
		data       []byte
		want       int
	}{
		{"empty file", "m.bin", nil, VerdictNotVerified},
		{"empty unnamed input", "data", nil, VerdictNotVerified},
		{"zip without central directory", "m.pt", whole[:eocd], VerdictNotVerified},
		{"zip cut inside a member", "m.pt", whole[:40], VerdictNotVerified},
		{"zip with no files", "m.zip", zipOf(t), VerdictNotVerified},
		{"npy shorter than its shape", "a.npy", npy("<f4", make([]byte, 4)), VerdictNotVerified},
		{"npy with no data", "a.npy", npy("<f8", nil), VerdictNotVerified},
		{"npy longer than its shape", "a.npy", npy("<f4", make([]byte, 12)), VerdictNotVerified},
		{"npy exact", "a.npy", npy("<f4", make([]byte, 8)), VerdictClean},
		{"npy unicode exact", "a.npy", npy("<U3", make([]byte, 24)), VerdictClean},
		{"pickle without STOP", "m.pkl", benignPickle[:len(benignPickle)-1], VerdictNotVerified},
		{"pickle cut in half", "m.pkl", benignPickle[:len(benignPickle)/2], VerdictNotVerified},
		{"safetensors offsets past the data", "m.safetensors", st(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, make([]byte, 4)), VerdictNotVerified},
		{"safetensors overlap", "m.safetensors", st(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, make([]byte, 6)), VerdictNotVerified},
		{"safetensors dtype*shape mismatch", "m.safetensors", st(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,4]}}`, make([]byte, 4)), VerdictNotVerified},
		{"safetensors unknown dtype", "m.safetensors", st(`{"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,4]}}`, make([]byte, 4)), VerdictNotVerified},
		{"safetensors impossible shape", "m.safetensors", st(`{"a":{"dtype":"F64","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}`, make([]byte, 4)), VerdictNotVerified},
		{"safetensors negative dim", "m.safetensors", st(`{"a":{"dtype":"U8","shape":[-4],"data_offsets":[0,4]}}`, make([]byte, 4)), VerdictNotVerified},
		{"safetensors valid", "m.safetensors", st(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, make([]byte, 4)), VerdictClean},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := ScanReader(context.Background(), bytes.NewReader(tc.data), int64(len(tc.data)), tc.file, DefaultOptions())
			if got := rep.Verdict(finding.Medium); got != tc.want {
				t.Errorf("verdict %d, want %d\nfindings %+v\nnot verified %+v", got, tc.want, rep.Findings, rep.NotVerified)
			}
			if tc.want == VerdictNotVerified && (rep.Verified || len(rep.Findings) > 0) {
				t.Errorf("verified=%v findings=%+v: a malformed file must be not verified, not a finding", rep.Verified, rep.Findings)
			}
		})
	}
}

// TestFoundBeatsNotVerified: a payload decides the verdict even when other
// items could not be read, and the report keeps both.
func TestFoundBeatsNotVerified(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "evil.pkl"), evilPickle, 0o644)
	os.WriteFile(filepath.Join(dir, "broken.pt"), []byte("PK\x03\x04truncated"), 0o644)
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := Scan(context.Background(), dir, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Verdict(finding.Medium); got != VerdictFindings {
		t.Errorf("verdict %d, want %d (found beats not verified)", got, VerdictFindings)
	}
	var nv []string
	for _, n := range rep.NotVerified {
		nv = append(nv, n.Location)
	}
	if d := cmp.Diff([]string{"broken.pt", "pipe"}, nv); d != "" {
		t.Errorf("not verified (-want +got):\n%s", d)
	}
	if rep.Verified {
		t.Error("report says verified with items not verified")
	}
	// Below the threshold the unread items decide.
	if got := rep.Verdict(finding.Critical + 1); got != VerdictNotVerified {
		t.Errorf("verdict above every finding = %d, want %d", got, VerdictNotVerified)
	}
}

// TestSpecialFiles: devices are refused unopened and named; a FIFO is read
// as a stream, waited on for a writer for a bounded time only.
func TestSpecialFiles(t *testing.T) {
	for _, dev := range []string{"/dev/zero", "/dev/null", "/dev/urandom"} {
		t.Run(dev, func(t *testing.T) {
			rep, err := Scan(context.Background(), dev, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict(finding.Medium) != VerdictNotVerified || len(rep.NotVerified) != 1 ||
				!strings.Contains(rep.NotVerified[0].Reason, dev+" is a character device") {
				t.Fatalf("got %+v, want one not-verified entry naming %s as a character device", rep.NotVerified, dev)
			}
		})
	}

	fifo := func(t *testing.T) string {
		p := filepath.Join(t.TempDir(), "model.pkl")
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("FIFO with no writer", func(t *testing.T) {
		p := fifo(t)
		start := time.Now()
		rep, err := Scan(context.Background(), p, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el > fifoWriterWait+time.Second {
			t.Errorf("took %v", el)
		}
		if rep.Verdict(finding.Medium) != VerdictNotVerified || !strings.Contains(rep.NotVerified[0].Reason, "no process opened it for writing") {
			t.Fatalf("got %+v", rep.NotVerified)
		}
	})
	for _, delay := range []time.Duration{0, 200 * time.Millisecond} {
		t.Run("FIFO fed with an evil pickle after "+delay.String(), func(t *testing.T) {
			p := fifo(t)
			go func() {
				time.Sleep(delay)
				w, err := os.OpenFile(p, os.O_WRONLY, 0) // blocks until the scan opens it
				if err != nil {
					return
				}
				w.Write(evilPickle)
				w.Close()
			}()
			rep, err := Scan(context.Background(), p, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Verdict(finding.Medium) != VerdictFindings || rep.BytesScanned != int64(len(evilPickle)) {
				t.Fatalf("verdict %d, %d bytes; findings %+v not verified %+v", rep.Verdict(finding.Medium), rep.BytesScanned, rep.Findings, rep.NotVerified)
			}
		})
	}
	t.Run("FIFO writer that closes without writing", func(t *testing.T) {
		p := fifo(t)
		go func() {
			if w, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
				w.Close()
			}
		}()
		rep, err := Scan(context.Background(), p, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict(finding.Medium) != VerdictNotVerified || !strings.Contains(rep.NotVerified[0].Reason, "empty") {
			t.Fatalf("got %+v", rep.NotVerified)
		}
	})
	t.Run("FIFO longer than the limit", func(t *testing.T) {
		p := fifo(t)
		go func() {
			if w, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
				w.Write(make([]byte, 100))
				w.Close()
			}
		}()
		opts := DefaultOptions()
		opts.Limits.MaxFileSize = 10
		rep, err := Scan(context.Background(), p, opts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Verdict(finding.Medium) != VerdictNotVerified || !strings.Contains(rep.NotVerified[0].Reason, "longer than the 10-byte limit") {
			t.Fatalf("got %+v", rep.NotVerified)
		}
	})
	t.Run("cancel ends a FIFO with a silent writer", func(t *testing.T) {
		p := fifo(t)
		wc := make(chan *os.File, 1)
		go func() {
			w, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err == nil {
				wc <- w
			}
		}()
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			w := <-wc
			time.Sleep(fifoWriterWait + 200*time.Millisecond) // past the wait for a writer
			cancel()
			time.Sleep(100 * time.Millisecond)
			w.Close()
		}()
		start := time.Now()
		rep, err := Scan(ctx, p, DefaultOptions())
		if !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) || rep != nil {
			t.Fatalf("got %v, %+v; want ErrInterrupted and no report", err, rep)
		}
		if el := time.Since(start); el > fifoWriterWait+time.Second {
			t.Errorf("took %v after the cancel", el)
		}
	})
}

// TestCancelled: a scan whose context has ended returns ErrInterrupted and
// no report, for a file and a folder.
func TestCancelled(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "m.pkl"), benignPickle, 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, p := range []string{dir, filepath.Join(dir, "m.pkl")} {
		rep, err := Scan(ctx, p, DefaultOptions())
		if !errors.Is(err, ErrInterrupted) || rep != nil {
			t.Errorf("%s: got %v, %v; want ErrInterrupted", p, rep, err)
		}
	}
	rep := ScanReader(ctx, bytes.NewReader(benignPickle), int64(len(benignPickle)), "m.pkl", DefaultOptions())
	if rep.Verified || rep.Verdict(finding.Medium) != VerdictNotVerified {
		t.Errorf("cancelled ScanReader: verified=%v not verified=%+v", rep.Verified, rep.NotVerified)
	}
}

// TestWriteTextEscapes: no outside string starts a new line in text output.
func TestWriteTextEscapes(t *testing.T) {
	rep := &Report{Path: "dir\n::error::path", Findings: []finding.Finding{{
		Severity: finding.Critical, Location: "m.pkl@2\r::error::loc", Module: "os\n::error::x", Name: "system\x1b[2J",
		Reason: "GLOBAL: os\n::error::x.system",
	}}, NotVerified: []finding.NotVerified{{Location: "a\u2028b", Reason: "zip member \"\n::warning::y\""}}}
	var b bytes.Buffer
	if err := WriteText(&b, rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3:\n%s", len(lines), b.String())
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "::") || strings.ContainsAny(l, "\r\x1b\u2028") {
			t.Errorf("line carries a raw control character or command: %q", l)
		}
	}
	if !strings.Contains(lines[0], `os\n:\x3aerror:\x3ax.system\x1b[2J`) {
		t.Errorf("global not escaped: %q", lines[0])
	}
}

// TestTruncatedNeverClean: every proper prefix of a clean model file is
// not verified (or a finding), never clean: a parser that stops early
// must say so. It covers the formats whose clean files are at hand here.
// Legacy PyTorch storage bytes after the five pickles are tensor data the
// scanner does not read (their lengths depend on storage types), so those
// prefixes are left out.
func TestTruncatedNeverClean(t *testing.T) {
	st := append(binary.LittleEndian.AppendUint64(nil, 53), `{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`...)
	old := legacyTorch(benignPickle)
	inputs := []struct {
		name string
		data []byte
		upto int // last prefix length tried (0: every proper prefix)
	}{
		{"m.pkl", benignPickle, 0},
		{"m.pt", zipOf(t, zm{"archive/data.pkl", benignPickle, zip.Deflate}, zm{"archive/data/0", make([]byte, 64), zip.Store}), 0},
		{"old.bin", old, len(old) - 15},
		{"a.npy", npy("<f4", make([]byte, 8)), 0},
		{"m.safetensors", append(st, 1, 2, 3, 4), 0},
		{"m.pkl.gz", gz(benignPickle), 0},
	}
	for _, f := range []string{"hdf5/testdata/keras2_clean.h5"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, struct {
			name string
			data []byte
			upto int
		}{filepath.Base(f), b, 0})
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			if v := run(t, in.name, in.data, nil).Verdict; v != VerdictClean {
				t.Fatalf("the whole file is not clean (verdict %d): fix the fixture", v)
			}
			upto := in.upto
			if upto == 0 {
				upto = len(in.data) - 1
			}
			step := max(1, upto/500)
			for n := 1; n <= upto; n += step {
				if o := run(t, in.name, in.data[:n], nil); o.Verdict == VerdictClean {
					t.Errorf("first %d of %d bytes scan clean", n, len(in.data))
				}
			}
		})
	}
}
