package testkeys

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// SpecialFiles are key "files" that are not regular files, by name: a FIFO
// with no writer (a blocking open of it never returns) and a device that
// never ends.
func SpecialFiles(t testing.TB) map[string]string {
	t.Helper()
	fifo := filepath.Join(t.TempDir(), "key.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	return map[string]string{"FIFO": fifo, "/dev/zero": "/dev/zero"}
}

// Within runs fn and returns its error; t fails (and the goroutine is
// left behind) unless fn returns within d: what hangs on a FIFO is a
// failure, not a test that never ends.
func Within(t testing.TB, d time.Duration, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("still running after %s: blocked on a special file", d)
		return nil
	}
}
