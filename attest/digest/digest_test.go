package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", []byte("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"one window plus one", pattern(64<<20 + 1), sum(pattern(64<<20 + 1))},
		{"unaligned", pattern(3*4096 + 17), sum(pattern(3*4096 + 17))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			got, n, err := File(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if got != "sha256:"+tc.want || n != int64(len(tc.data)) {
				t.Errorf("File = %s, %d; want sha256:%s, %d", got, n, tc.want, len(tc.data))
			}
		})
	}
}

func TestShardedFile(t *testing.T) {
	dir := t.TempDir()
	const shard = 64 << 10
	for _, tc := range []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"smaller than a shard", 1000},
		{"exactly one shard", shard},
		{"one shard and a byte", shard + 1},
		{"many shards", 10*shard + 123},
	} {
		data := pattern(tc.size)
		p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		// The expected value, computed independently of the code under test.
		want := &Sharded{Size: int64(tc.size), ShardSize: shard}
		for off := 0; off < tc.size || off == 0; off += shard {
			want.Shards = append(want.Shards, sum(data[off:min(off+shard, tc.size)]))
			if tc.size == 0 {
				break
			}
		}
		text := fmt.Sprintf("gatehouse.sharded-sha256/v1 size=%d shard=%d\n%s\n", tc.size, shard, strings.Join(want.Shards, "\n"))
		want.Digest = "sha256:" + sum([]byte(text))
		for _, o := range []Options{{ShardSize: shard}, {ShardSize: shard, NoMmap: true}, {ShardSize: shard, Workers: 1}, {ShardSize: shard, Workers: 7}} {
			t.Run(fmt.Sprintf("%s/%+v", tc.name, o), func(t *testing.T) {
				got, err := ShardedFile(context.Background(), p, o)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("ShardedFile (-want +got):\n%s", diff)
				}
			})
		}
	}
	if _, err := ShardedFile(context.Background(), filepath.Join(dir, "empty"), Options{ShardSize: 100}); err == nil {
		t.Error("a 100-byte shard size was accepted")
	}
}

func TestNotRegular(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("x"), 0o600)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fifo, dir} {
		if _, _, err := File(context.Background(), p); !errors.Is(err, ErrSpecialFile) {
			t.Errorf("File(%s) error = %v, want ErrSpecialFile", p, err)
		}
		if _, err := ShardedFile(context.Background(), p, Options{}); !errors.Is(err, ErrSpecialFile) {
			t.Errorf("ShardedFile(%s) error = %v, want ErrSpecialFile", p, err)
		}
	}
	if _, _, err := File(context.Background(), filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestTree(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"weights/b.safetensors":        "bbb",
		"config.json":                  "{}",
		"weights/a.safetensors":        "aaa",
		"Z-upper":                      "z",
		".gatehouse.sigstore.json":     "excluded",
		"sub/.gatehouse.sigstore.json": "not excluded: only the root one is",
	})
	os.MkdirAll(filepath.Join(dir, "empty/dir"), 0o755)
	m, err := Tree(context.Background(), dir, TreeOptions{Exclude: []string{".gatehouse.sigstore.json"}})
	if err != nil {
		t.Fatal(err)
	}
	want := &Manifest{Files: []Entry{
		{Path: "Z-upper", Size: 1, SHA256: sum([]byte("z"))},
		{Path: "config.json", Size: 2, SHA256: sum([]byte("{}"))},
		{Path: "sub/.gatehouse.sigstore.json", Size: 34, SHA256: sum([]byte("not excluded: only the root one is"))},
		{Path: "weights/a.safetensors", Size: 3, SHA256: sum([]byte("aaa"))},
		{Path: "weights/b.safetensors", Size: 3, SHA256: sum([]byte("bbb"))},
	}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Fatalf("Tree (-want +got):\n%s", diff)
	}
	if m.Size() != 43 {
		t.Errorf("Size = %d", m.Size())
	}
	got, err := Path(context.Background(), dir, ".gatehouse.sigstore.json")
	if err != nil || got != m.Digest() || got != "sha256:"+sum(m.Canonical()) {
		t.Errorf("Path = %s, %v; want %s", got, err, m.Digest())
	}
	// The canonical form is sha256sum's: sha256sum -c accepts it.
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("sha256sum not on PATH: cannot cross-check the manifest format")
	}
	mf := filepath.Join(t.TempDir(), "SHA256SUMS")
	os.WriteFile(mf, m.Canonical(), 0o600)
	cmd := exec.Command("sha256sum", "--strict", "-c", mf)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c: %v\n%s", err, out)
	}
}

func TestTreeRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
		opts  TreeOptions
		want  error
		msg   string
	}{
		{"symlink", func(t *testing.T, dir string) { os.Symlink("/etc/passwd", filepath.Join(dir, "w", "link")) }, TreeOptions{}, ErrSpecialFile, "w/link"},
		{"symlink to a folder", func(t *testing.T, dir string) { os.Symlink(dir, filepath.Join(dir, "loop")) }, TreeOptions{}, ErrSpecialFile, "loop"},
		{"fifo", func(t *testing.T, dir string) { syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600) }, TreeOptions{}, ErrSpecialFile, "pipe"},
		{"newline in a name", func(t *testing.T, dir string) { os.WriteFile(filepath.Join(dir, "a\nb"), nil, 0o600) }, TreeOptions{}, nil, "newlines"},
		{"too many files", func(t *testing.T, dir string) {}, TreeOptions{MaxFiles: 1}, ErrTooManyFiles, "more than 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"w/a": "a", "w/b": "b"})
			tc.setup(t, dir)
			_, err := Tree(context.Background(), dir, tc.opts)
			if err == nil {
				t.Fatal("Tree succeeded")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
	if _, err := Tree(context.Background(), writeTree(t, map[string]string{"f": "x"})+"/f", TreeOptions{}); err == nil {
		t.Error("Tree of a file succeeded")
	}
}

// TestCancelled: hashing stops when its context ends, for a file, a
// sharded file and a folder, and says why.
func TestCancelled(t *testing.T) {
	dir := writeTree(t, map[string]string{"a": "x", "b": "y"})
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(256 << 20) // sparse: four windows, no disk
	f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := File(ctx, big); !errors.Is(err, context.Canceled) {
		t.Errorf("File: %v, want context.Canceled", err)
	}
	if _, err := ShardedFile(ctx, big, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("ShardedFile: %v, want context.Canceled", err)
	}
	if _, err := Tree(ctx, dir, TreeOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Tree: %v, want context.Canceled", err)
	}
}
