package scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"

	"github.com/gatehouse-dev/gatehouse/internal/textsafe"
	"github.com/gatehouse-dev/gatehouse/sources"
)

// Side files: a tree is walked once (a remote artifact streams past once),
// yet besides the model scanner other collectors want a few of its files —
// LICENSE, the model card, predictions, metrics — which they read from a
// local folder. SideTree tees those files to a private folder as the walk
// hands them out, so that one walk serves every collector.

// SideLimits bound what SideTree copies to disk. Zero values take the
// defaults.
type SideLimits struct {
	// MaxFileBytes bounds one side file (default 512 MiB).
	MaxFileBytes int64
	// MaxTotalBytes bounds all side files of one tree (default 1 GiB).
	MaxTotalBytes int64
	// MaxFiles bounds how many side files are copied (default 1000).
	MaxFiles int
}

// DefaultSideLimits are the limits a zero SideLimits stands for.
func DefaultSideLimits() SideLimits {
	return SideLimits{MaxFileBytes: 512 << 20, MaxTotalBytes: 1 << 30, MaxFiles: 1000}
}

func (l SideLimits) withDefaults() SideLimits {
	d := DefaultSideLimits()
	if l.MaxFileBytes <= 0 {
		l.MaxFileBytes = d.MaxFileBytes
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = d.MaxTotalBytes
	}
	if l.MaxFiles <= 0 {
		l.MaxFiles = d.MaxFiles
	}
	return l
}

// Side is what a SideTree's walk copied: Dir mirrors the tree's paths for
// the side files in Files; Errors names each side file that was not copied
// and why (a limit, a link, a path seen twice). A collector that needs a
// file in Errors must not judge the folder: the file it would read is
// missing from Dir on purpose.
type Side struct {
	Dir    string
	Files  map[string]Origin
	Errors map[string]error
}

// ErrSideFile is wrapped by every error in Side.Errors.
var ErrSideFile = errors.New("side file not copied")

// SideTree is a Tree whose Walk copies every regular file that match
// accepts (by its path in the tree) into a folder, bounded by its limits,
// and hands the walk's callback a File that reads the copy; every other
// file is handed out as the tree gives it. The callback sees every file
// exactly once, as with the tree itself.
type SideTree struct {
	sources.Tree
	dir   string
	root  *os.Root
	match func(path string) bool
	lim   SideLimits

	mu      sync.Mutex
	total   int64
	count   int
	files   map[string]Origin
	errs    map[string]error
	seen    map[string]bool
	walkErr error
}

// NewSideTree wraps t. dir must be an existing, empty, private folder
// (mode 0700; the caller removes it): side files are written under it
// through an os.Root, so no path can land outside it.
func NewSideTree(t sources.Tree, dir string, match func(path string) bool, lim SideLimits) (*SideTree, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("side files: %w", err)
	}
	return &SideTree{Tree: t, dir: dir, root: root, match: match, lim: lim.withDefaults(),
		files: map[string]Origin{}, errs: map[string]error{}, seen: map[string]bool{}}, nil
}

// Close releases the folder handle and closes the wrapped tree.
func (t *SideTree) Close() error {
	t.root.Close()
	return t.Tree.Close()
}

// Side returns what the last Walk copied. Call it after Walk returns.
func (t *SideTree) Side() Side {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := Side{Dir: t.dir, Files: make(map[string]Origin, len(t.files)), Errors: make(map[string]error, len(t.errs))}
	for k, v := range t.files {
		s.Files[k] = v
	}
	for k, v := range t.errs {
		s.Errors[k] = v
	}
	return s
}

// WalkErr is the error the wrapped tree's Walk returned (nil if it
// completed): a caller whose callback hid it (as Model does for a hostile
// tree) learns from it that nothing copied may be trusted.
func (t *SideTree) WalkErr() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.walkErr
}

// Walk walks the wrapped tree, copying side files on the way (see
// SideTree). Copying fails the walk only once the source's stream has
// been read from (the callback could no longer be given the file): a side
// file over a limit, a link, a path seen twice or a folder that cannot be
// written is recorded in Side().Errors and the file goes to the callback
// as the tree gave it.
func (t *SideTree) Walk(ctx context.Context, fn func(ctx context.Context, f *sources.File) error) error {
	err := t.Tree.Walk(ctx, func(ctx context.Context, f *sources.File) error {
		if !t.match(f.Path) {
			return fn(ctx, f)
		}
		local, err := t.copy(ctx, f)
		if err != nil {
			return err
		}
		if local == "" {
			return fn(ctx, f)
		}
		return t.handCopy(ctx, local, f, fn)
	})
	t.mu.Lock()
	t.walkErr = err
	t.mu.Unlock()
	return err
}

func (t *SideTree) fail(p string, err error) {
	t.errs[p] = fmt.Errorf("%s: %w: %w", textsafe.Escape(p), ErrSideFile, err)
	delete(t.files, p)
}

// reserve books room for f, or records why it gets none.
func (t *SideTree) reserve(f *sources.File) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := f.Path
	if t.seen[p] {
		t.fail(p, errors.New("the tree holds this path more than once: which copy a reader gets is ambiguous"))
		return false
	}
	t.seen[p] = true
	switch {
	case f.Type == sources.TypeSymlink || f.Type == sources.TypeHardlink:
		t.fail(p, fmt.Errorf("is a %s to %q: links inside an artifact are not followed", f.Type, textsafe.Escape(f.Linkname)))
	case f.Type != sources.TypeRegular:
		t.fail(p, errors.New("is a device, FIFO or other special entry: never opened"))
	case f.Sampled:
		t.fail(p, fmt.Errorf("opened sampled (%d of %d bytes): a side file is read whole or not at all: %w", f.SampleBytes, f.Size, sources.ErrLimit))
	case f.Size < 0:
		t.fail(p, fmt.Errorf("the source does not state its size: %w", sources.ErrLimit))
	case f.Size > t.lim.MaxFileBytes:
		t.fail(p, fmt.Errorf("%d bytes, over the side-file limit of %d: %w", f.Size, t.lim.MaxFileBytes, sources.ErrLimit))
	case t.count >= t.lim.MaxFiles:
		t.fail(p, fmt.Errorf("more than %d side files: %w", t.lim.MaxFiles, sources.ErrLimit))
	case t.total+f.Size > t.lim.MaxTotalBytes:
		t.fail(p, fmt.Errorf("side files over %d bytes in total: %w", t.lim.MaxTotalBytes, sources.ErrLimit))
	default:
		t.count++
		t.total += f.Size
		return true
	}
	return false
}

// copy writes f under the folder and returns the copy's path, or "" when
// f was not copied (recorded in errs). An error fails the walk.
func (t *SideTree) copy(ctx context.Context, f *sources.File) (string, error) {
	if !t.reserve(f) {
		return "", nil
	}
	p := f.Path
	local := filepath.FromSlash(p)
	if dir := path.Dir(p); dir != "." {
		if err := t.root.MkdirAll(filepath.FromSlash(dir), 0o700); err != nil {
			t.mu.Lock()
			t.fail(p, err)
			t.mu.Unlock()
			return "", nil
		}
	}
	w, err := t.root.OpenFile(local, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.mu.Lock()
		t.fail(p, err)
		t.mu.Unlock()
		return "", nil
	}
	// From here on the source streams: a failure fails the walk.
	rc, err := f.Open(ctx)
	if err != nil {
		w.Close()
		return "", err
	}
	n, err := io.Copy(w, io.LimitReader(rc, f.Size+1))
	rc.Close()
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != f.Size {
		err = fmt.Errorf("%s: read %d bytes where the source states %d: %w", textsafe.Escape(p), n, f.Size, sources.ErrIntegrity)
	}
	if err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	t.mu.Lock()
	if t.errs[p] == nil {
		t.files[p] = OriginOf(f)
	}
	t.mu.Unlock()
	return filepath.Join(t.dir, local), nil
}

// handCopy calls fn with f reading the copy at local.
func (t *SideTree) handCopy(ctx context.Context, local string, f *sources.File, fn func(ctx context.Context, f *sources.File) error) error {
	return fn(ctx, f.WithContent(func(context.Context) (io.ReadCloser, error) { return os.Open(local) }))
}

// Origins lists the origins of the copied files whose paths keep accepts,
// sorted by path.
func (s Side) Origins(keep func(path string) bool) []Origin {
	out := []Origin{}
	for p, o := range s.Files {
		if keep(p) {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// FirstError returns the error of the first (by path) side file that
// keep accepts and that was not copied, or nil.
func (s Side) FirstError(keep func(path string) bool) error {
	var paths []string
	for p := range s.Errors {
		if keep(p) {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil
	}
	sort.Strings(paths)
	return s.Errors[paths[0]]
}
