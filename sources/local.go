package sources

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

type localTree struct {
	root string
	file bool // root is a single file
	opts Options
}

func openLocal(path string, opts Options) (Tree, error) {
	if path == "" {
		return nil, fmt.Errorf("empty path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st, err := os.Lstat(abs)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if !st.IsDir() && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", path, readlimit.ErrNotRegular, readlimit.Describe(st.Mode()))
	}
	return &localTree{root: abs, file: !st.IsDir(), opts: opts}, nil
}

func (t *localTree) Identity() Identity {
	return Identity{Kind: KindLocal, Ref: t.root}
}

func (t *localTree) Walk(ctx context.Context, fn func(context.Context, *File) error) error {
	var count int
	var total atomic.Int64
	base := t.root
	if t.file {
		base = filepath.Dir(t.root)
	}
	return filepath.WalkDir(t.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		count++
		if count > t.opts.MaxFiles {
			return fmt.Errorf("%s: more than %d files: %w", t.root, t.opts.MaxFiles, ErrLimit)
		}
		rel, err := filepath.Rel(base, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		f := &File{Path: filepath.ToSlash(rel), Size: info.Size(), Type: TypeRegular}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			f.Type, f.Size = TypeSymlink, -1
			f.Linkname, _ = os.Readlink(p)
		case !info.Mode().IsRegular():
			f.Type, f.Size = TypeOther, -1
		default:
			path := p
			f.open = func(ctx context.Context) (io.ReadCloser, error) {
				fh, err := readlimit.Open(path)
				if err != nil {
					return nil, err
				}
				return &boundedReader{r: fh, c: fh, name: path, left: t.opts.MaxFileBytes, total: &total, totalMax: t.opts.MaxTotalBytes}, nil
			}
		}
		return fn(ctx, f)
	})
}

// boundedReader fails once a file or the whole tree has given more bytes
// than allowed.
type boundedReader struct {
	r        io.Reader
	c        io.Closer
	name     string
	left     int64
	total    *atomic.Int64
	totalMax int64
}

func (b *boundedReader) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Probe for one more byte: exactly at the limit is fine.
		var one [1]byte
		n, err := b.r.Read(one[:])
		if n > 0 {
			return 0, fmt.Errorf("%s: more than the per-file limit of bytes: %w", b.name, ErrLimit)
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.total != nil && b.total.Add(int64(n)) > b.totalMax {
		return n, fmt.Errorf("%s: the tree gave more than %d bytes in total: %w", b.name, b.totalMax, ErrLimit)
	}
	return n, err
}

func (b *boundedReader) Close() error {
	if b.c != nil {
		return b.c.Close()
	}
	return nil
}

func (t *localTree) Close() error { return nil }
