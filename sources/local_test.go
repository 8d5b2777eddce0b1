package sources

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLocal(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "model.pkl"), []byte("pickle"), 0o600)
	os.WriteFile(filepath.Join(dir, "sub", "card.md"), []byte("# card"), 0o600)
	os.Symlink("/etc/passwd", filepath.Join(dir, "link"))
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	tree, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := walkAll(t, tree)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"model.pkl": "pickle", "sub/card.md": "# card", "link": "symlink->/etc/passwd", "fifo": "other->"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if id := tree.Identity(); id.Kind != KindLocal || id.Ref != dir {
		t.Errorf("identity %+v", id)
	}

	// One file is a tree of one.
	one, err := Open(context.Background(), "file://"+filepath.Join(dir, "model.pkl"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := walkAll(t, one); err != nil || !cmp.Equal(got, map[string]string{"model.pkl": "pickle"}) {
		t.Errorf("single file: %v %v", got, err)
	}

	// Limits.
	tree, _ = Open(context.Background(), dir, Options{MaxFiles: 2})
	if _, _, err := walkAll(t, tree); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxFiles: %v", err)
	}
	tree, _ = Open(context.Background(), dir, Options{MaxFileBytes: 3})
	if _, _, err := walkAll(t, tree); !errors.Is(err, ErrLimit) {
		t.Errorf("MaxFileBytes: %v", err)
	}
	// A FIFO or device as the root is refused without blocking.
	if _, err := Open(context.Background(), filepath.Join(dir, "fifo"), Options{}); err == nil {
		t.Error("FIFO root opened")
	}
	if _, err := Open(context.Background(), "/dev/zero", Options{}); err == nil {
		t.Error("/dev/zero opened")
	}
	if _, err := Open(context.Background(), "s3://bucket/x", Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("s3: %v", err)
	}
	if _, err := Pin(context.Background(), dir, Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("pin local: %v", err)
	}
}

func TestCleanEntry(t *testing.T) {
	tests := []struct {
		in, want string
		unsafe   bool
	}{
		{in: "a/b.bin", want: "a/b.bin"},
		{in: "./a//b/./c", want: "a/b/c"},
		{in: "/models/x", want: "models/x"},
		{in: `dir\file`, want: "dir/file"},
		{in: "../x", unsafe: true},
		{in: "a/../../x", unsafe: true},
		{in: `..\x`, unsafe: true},
		{in: "a/..", unsafe: true},
		{in: "", unsafe: true},
		{in: "/", unsafe: true},
		{in: "a\x00b", unsafe: true},
	}
	for _, tc := range tests {
		got, err := cleanEntry(tc.in)
		if tc.unsafe {
			if !errors.Is(err, ErrUnsafePath) {
				t.Errorf("cleanEntry(%q) = %q, %v; want ErrUnsafePath", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want || strings.Contains(got, "..") {
			t.Errorf("cleanEntry(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
