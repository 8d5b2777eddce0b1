//go:build linux

package digest

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHashRangeFault maps past the end of a file, as a file truncated
// while it is hashed leaves the mapping: the fault must be an error, not a
// crash of the process.
func TestHashRangeFault(t *testing.T) {
	p := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(p, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	page := int64(os.Getpagesize())
	ok, err := hashRange(sha256.New(), f, 0, 4*page)
	if !ok || err == nil || !strings.Contains(err.Error(), "file changed while hashing") {
		t.Fatalf("hashRange past EOF = %v, %v; want a 'file changed' error", ok, err)
	}
	// The same file within its size hashes fine.
	h := sha256.New()
	if ok, err := hashRange(h, f, 0, 3); !ok || err != nil {
		t.Fatalf("hashRange = %v, %v", ok, err)
	}
	if got, want := h.Sum(nil), sha256.Sum256([]byte("abc")); string(got) != string(want[:]) {
		t.Errorf("digest %x, want %x", got, want)
	}
}
