package readlimit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := File(p, 5); err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q, %v", b, err)
	}
	if _, err := File(p, 4); err == nil || !strings.Contains(err.Error(), "larger than the limit of 4 bytes") {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := File(filepath.Join(t.TempDir(), "missing"), 4); err == nil {
		t.Fatal("missing file read")
	}
}

func TestRefusesNonRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, "/dev/zero", "/dev/null", t.TempDir()} {
		if _, err := os.Stat(p); err != nil {
			t.Logf("skip %s: %v", p, err)
			continue
		}
		done := make(chan error, 1)
		go func() { _, err := File(p, 10); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotRegular) {
				t.Errorf("File(%s) = %v, want ErrNotRegular", p, err)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("File(%s) blocked", p)
		}
	}
}

func TestOpenStreamFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	f, stream, err := OpenStream(fifo)
	if err != nil || !stream {
		t.Fatalf("OpenStream(fifo) = %v, %v", stream, err)
	}
	defer f.Close()
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	go func() { w.Write([]byte("abc")); w.Close() }()
	b, err := Read(fifo, f, 10)
	if err != nil || string(b) != "abc" {
		t.Fatalf("read fifo: %q, %v", b, err)
	}
	if _, _, err := OpenStream("/dev/zero"); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("OpenStream(/dev/zero) = %v, want ErrNotRegular", err)
	}
}

func TestCloseOnDoneEndsBlockedRead(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	f, _, err := OpenStream(fifo)
	if err != nil {
		t.Fatal(err)
	}
	// A writer that never writes nor closes: the read would wait forever.
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	stop := CloseOnDone(ctx, f)
	defer stop()
	done := make(chan error, 1)
	go func() { _, err := Read(fifo, f, 10); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("read of a cancelled pipe succeeded")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("read did not end when the context did")
	}
}
