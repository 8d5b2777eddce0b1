package pii

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
	"github.com/gatehouse-dev/gatehouse/scanners/pii/internal/gencsv"
)

// TestScanRefusesSpecialFiles: a FIFO with no writer, devices and a socket
// are refused at once (the open does not block), never read as empty.
func TestScanRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "rows.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/null", "/dev/zero", "/dev/urandom"} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s: %v", path, err)
			}
			ev, err := Scan(context.Background(), path, Options{})
			if !errors.Is(err, readlimit.ErrNotRegular) {
				t.Fatalf("Scan(%s) = %+v, %v; want ErrNotRegular", path, ev, err)
			}
		})
	}
}

// TestEmptyIsNotVerified: a file or folder with no records verifies
// nothing, so it is listed as not verified, never reported clean.
func TestEmptyIsNotVerified(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Close()
	for _, tt := range []struct {
		name  string
		files map[string]string // under the scanned folder; one file: the file is scanned
	}{
		{"empty csv", map[string]string{"a.csv": ""}},
		{"header only", map[string]string{"a.csv": "email,phone\n"}},
		{"empty jsonl", map[string]string{"a.jsonl": "\n\n"}},
		{"empty json array", map[string]string{"a.json": "[]"}},
		{"empty text", map[string]string{"notes.txt": ""}},
		{"empty gzip", map[string]string{"a.csv.gz": gz.String()}},
		{"empty folder", map[string]string{}},
		{"only binary files", map[string]string{"img.png": "\x89PNG\r\n\x1a\n\x00\x00", "x.npy": "\x93NUMPY"}},
		{"one empty beside data", map[string]string{"a.csv": "email\nada@example.com\n", "b.csv": ""}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			path := dir
			if len(tt.files) == 1 {
				for name := range tt.files {
					path = filepath.Join(dir, name)
				}
			}
			ev, err := Scan(context.Background(), path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(ev.NotVerified) == 0 {
				t.Fatalf("%s reported as verified: %+v", tt.name, ev)
			}
			if ev.Subject == nil || ev.Subject.Path != path {
				t.Errorf("subject %+v, want path %s", ev.Subject, path)
			}
		})
	}
}

// TestScanStopsWhenCancelled cancels a scan of a large CSV while it runs:
// Scan returns the context's error promptly, never partial evidence.
func TestScanStopsWhenCancelled(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.csv")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gencsv.Write(f, 64<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, opts := range []Options{{}, {Workers: 1}} {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		ev, err := Scan(ctx, p, opts)
		took := time.Since(start)
		if !errors.Is(err, context.Canceled) || ev != nil {
			t.Fatalf("Scan after cancel = %v, %v (in %v); want context.Canceled and no evidence", ev != nil, err, took)
		}
		t.Logf("workers %d: returned %v after start", opts.Workers, took)
		// The readers check ctx per record: far below the time a full scan takes.
		if took > time.Second {
			t.Errorf("Scan returned %v after start (cancel at 50ms), want well under a second", took)
		}
	}
}

// TestWriteTextEscapes: names read from the dataset cannot add a line (or
// a GitHub workflow command) to the text output.
func TestWriteTextEscapes(t *testing.T) {
	ev := &Evidence{Schema: Schema, Mode: "full", FilesScanned: 2,
		Findings: []Finding{
			{File: "a.csv", Column: "x\n::error::pwn", Entity: "EMAIL_ADDRESS", Count: 1, Example: "a***@e***.com"},
			{File: "::warning file=x::b.csv", Column: "c\r\x1b[2K", Entity: "PERSON", Count: 1, Example: "A*** \u2028B***"},
		},
		NotVerified: []NotVerified{{"bad\n::add-mask::x.csv", "line 1: \x00"}},
		Skipped:     []NotVerified{{"img\u202e.png", "binary"}},
	}
	var buf bytes.Buffer
	if err := WriteText(&buf, ev); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	// header, two findings, not verified, skipped, summary
	if len(lines) != 6 {
		t.Fatalf("%d lines, want 6:\n%s", len(lines), buf.String())
	}
	for _, l := range lines {
		if strings.Contains(l, "::") || strings.ContainsAny(l, "\r\x1b\x00\u2028\u202e") {
			t.Errorf("line holds a raw control character or \"::\": %q", l)
		}
	}
}
