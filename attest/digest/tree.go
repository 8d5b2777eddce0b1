package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Entry is one file of a tree manifest.
type Entry struct {
	// Path is relative to the folder, with '/' separators.
	Path string `json:"path"`
	Size int64  `json:"size"`
	// SHA256 is the file's plain SHA-256, hex.
	SHA256 string `json:"sha256"`
}

// Manifest is a folder's files, sorted by Path (byte order).
type Manifest struct {
	Files []Entry `json:"files"`
}

// Canonical is the manifest in sha256sum's format, one line per file:
// "<hex>  <path>\n", sorted by path. `sha256sum -c` can check it.
func (m *Manifest) Canonical() []byte {
	var b []byte
	for _, e := range m.Files {
		b = append(b, e.SHA256...)
		b = append(b, ' ', ' ')
		b = append(b, e.Path...)
		b = append(b, '\n')
	}
	return b
}

// Digest is the tree digest: "sha256:<hex>" of Canonical().
func (m *Manifest) Digest() string {
	sum := sha256.Sum256(m.Canonical())
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Size is the total size of the files.
func (m *Manifest) Size() int64 {
	var n int64
	for _, e := range m.Files {
		n += e.Size
	}
	return n
}

// TreeOptions tune Tree.
type TreeOptions struct {
	// Exclude lists relative paths ('/'-separated) left out of the
	// manifest, e.g. the signature bundle stored inside the folder.
	Exclude []string
	// MaxFiles bounds the manifest (DefaultMaxFiles).
	MaxFiles int
	// Workers hashing files at once (runtime.GOMAXPROCS(0)).
	Workers int
}

// DefaultMaxFiles bounds the files of a tree.
const DefaultMaxFiles = 250_000

// ErrTooManyFiles is wrapped when a folder has more than MaxFiles files.
var ErrTooManyFiles = errors.New("too many files")

// Tree walks dir and hashes its regular files in parallel. Symlinks and
// special files are errors wrapping ErrSpecialFile, naming the path; file
// names with a newline or backslash are refused (the manifest is line
// based and '/'-separated). Empty folders leave no trace in the manifest.
func Tree(ctx context.Context, dir string, o TreeOptions) (*Manifest, error) {
	st, err := os.Lstat(dir)
	if err != nil {
		return nil, fmt.Errorf("tree digest: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("tree digest %s: not a directory", dir)
	}
	max := o.MaxFiles
	if max <= 0 {
		max = DefaultMaxFiles
	}
	var files []Entry
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if strings.ContainsAny(rel, "\n\r\\") {
			return fmt.Errorf("%s: %q: file names with newlines or backslashes cannot be listed in a manifest", dir, rel)
		}
		if slices.Contains(o.Exclude, rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		switch {
		case d.IsDir():
			return nil
		case d.Type().IsRegular():
		default:
			return fmt.Errorf("%s: %w", p, errNotRegular(d.Type()))
		}
		if len(files) >= max {
			return fmt.Errorf("%s: %w: more than %d", dir, ErrTooManyFiles, max)
		}
		files = append(files, Entry{Path: rel})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tree digest: %w", err)
	}
	slices.SortFunc(files, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	if err := hashAll(ctx, dir, files, (Options{Workers: o.Workers}).workers()); err != nil {
		return nil, fmt.Errorf("tree digest: %w", err)
	}
	return &Manifest{Files: files}, nil
}

// hashAll hashes files in parallel, largest-first would balance better but
// order of discovery is good enough for many files; one huge file bounds
// the time at one core's speed.
func hashAll(ctx context.Context, dir string, files []Entry, workers int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range min(workers, len(files)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				p := filepath.Join(dir, filepath.FromSlash(files[i].Path))
				d, n, err := regularFile(ctx, p)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
				files[i].SHA256, files[i].Size = d, n
			}
		}()
	}
	wg.Wait()
	return first
}

// regularFile hashes p, refusing it if it is (now) not a regular file.
func regularFile(ctx context.Context, p string) (string, int64, error) {
	st, err := os.Lstat(p)
	if err != nil {
		return "", 0, err
	}
	if !st.Mode().IsRegular() {
		return "", 0, fmt.Errorf("%s: %w", p, errNotRegular(st.Mode()))
	}
	d, n, err := File(ctx, p)
	if err != nil {
		return "", 0, err
	}
	return strings.TrimPrefix(d, "sha256:"), n, nil
}

// Path returns the digest of a file (plain SHA-256) or a folder (tree
// digest), "sha256:<hex>": the digest of a file or folder subject.
func Path(ctx context.Context, p string, exclude ...string) (string, error) {
	st, err := os.Lstat(p)
	if err != nil {
		return "", fmt.Errorf("digest: %w", err)
	}
	if st.IsDir() {
		m, err := Tree(ctx, p, TreeOptions{Exclude: exclude})
		if err != nil {
			return "", err
		}
		return m.Digest(), nil
	}
	d, _, err := File(ctx, p)
	return d, err
}
