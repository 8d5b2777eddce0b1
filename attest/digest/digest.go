// Package digest hashes files and folders for signing: fast, and with each
// digest's meaning fixed and documented.
//
// Three digests, three meanings:
//
//   - File: the plain SHA-256 of a file's bytes, "sha256:<hex>", what
//     `sha256sum` and `openssl dgst -sha256` print and what Sigstore
//     bundles and in-toto subjects carry. SHA-256 is sequential: one file
//     hashes on one core, at that core's speed.
//   - Sharded: the file cut into fixed-size shards (default 64 MiB), each
//     hashed with SHA-256 in parallel over the cores; the sharded digest is
//     the SHA-256 of the canonical shard manifest (see Sharded.Canonical).
//     It detects the same changes as the plain digest but is a different
//     number: it is never compared with a plain sha256.
//   - Tree: a folder as the sorted list of its regular files' relative
//     paths and plain SHA-256 digests (files hashed in parallel); the tree
//     digest is the SHA-256 of the manifest in sha256sum format. Symlinks
//     and special files (devices, sockets, pipes) are refused: a signature
//     must not depend on what a link points to.
package digest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// ReadBufferSize is the read size of the hashing loops.
const ReadBufferSize = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, ReadBufferSize); return &b }}

// File returns the plain SHA-256 of the file at path as "sha256:<hex>" and
// its size. path must be a regular file. A cancelled ctx ends the hashing
// within one 64 MiB window.
func File(ctx context.Context, path string) (string, int64, error) {
	f, err := openRegular(path)
	if err != nil {
		return "", 0, fmt.Errorf("digest: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", 0, fmt.Errorf("digest: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", 0, fmt.Errorf("digest %s: %w", path, errNotRegular(st.Mode()))
	}
	h := sha256.New()
	size := st.Size()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	// Mapped windows hash page-cache pages in place; reads are the fallback.
	const window = 64 << 20
	for off := int64(0); off < size; off += window {
		if err := ctx.Err(); err != nil {
			return "", 0, fmt.Errorf("digest %s: %w", path, err)
		}
		n := min(window, size-off)
		ok, err := hashRange(h, f, off, n)
		if !ok {
			err = readRange(h, f, off, n, *bp)
		}
		if err != nil {
			return "", 0, fmt.Errorf("digest %s: %w", path, err)
		}
	}
	// Bytes appended after Stat are not part of the digest: the digest is
	// of the size reported with it.
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), size, nil
}

// ErrSpecialFile is wrapped when a symlink, device, socket or pipe is met
// where a regular file is expected.
var ErrSpecialFile = errors.New("not a regular file")

func errNotRegular(m os.FileMode) error {
	switch {
	case m&os.ModeSymlink != 0:
		return fmt.Errorf("%w: a symbolic link (replace it with the file it points to)", ErrSpecialFile)
	case m.IsDir():
		return fmt.Errorf("%w: a directory", ErrSpecialFile)
	}
	return fmt.Errorf("%w: a special file (%s)", ErrSpecialFile, m.Type())
}

// DefaultShardSize is the shard size of Sharded (see the benchmarks:
// 64 MiB was the fastest of 64/128/256 MiB on a 2 GiB file and 2 cores:
// the last shards finish close together).
const DefaultShardSize = 64 << 20

// ShardedSchema names the canonical form of a sharded digest.
const ShardedSchema = "gatehouse.sharded-sha256/v1"

// Sharded is a file's sharded digest.
type Sharded struct {
	Size      int64    `json:"size"`
	ShardSize int64    `json:"shard_size"`
	Shards    []string `json:"shards"` // hex SHA-256 of each shard, in order
	Digest    string   `json:"digest"` // "sha256:<hex>" of Canonical()
}

// Canonical is the text whose SHA-256 is the sharded digest:
//
//	gatehouse.sharded-sha256/v1 size=<bytes> shard=<bytes>\n
//	<hex of shard 0>\n
//	<hex of shard 1>\n …
func (s *Sharded) Canonical() []byte {
	b := fmt.Appendf(nil, "%s size=%d shard=%d\n", ShardedSchema, s.Size, s.ShardSize)
	for _, h := range s.Shards {
		b = append(b, h...)
		b = append(b, '\n')
	}
	return b
}

// Options tune the parallel hashing. Zero values mean the defaults.
type Options struct {
	// ShardSize for ShardedFile (DefaultShardSize).
	ShardSize int64
	// Workers hashing at once (runtime.GOMAXPROCS(0)).
	Workers int
	// NoMmap reads shards with pread instead of mapping them.
	NoMmap bool
}

// readRange hashes size bytes of f at off with positioned reads.
func readRange(h io.Writer, f *os.File, off, size int64, buf []byte) error {
	got, err := io.CopyBuffer(h, io.NewSectionReader(f, off, size), buf)
	if err == nil && got != size {
		err = fmt.Errorf("file shrank while hashing (%d of %d bytes at offset %d read)", got, size, off)
	}
	return err
}

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// ShardedFile computes the sharded digest of a regular file, hashing its
// shards in parallel with positioned reads.
func ShardedFile(ctx context.Context, path string, o Options) (*Sharded, error) {
	return shardedFile(ctx, path, o)
}

// openRegular opens path for reading only if it is a regular file. The
// Stat gives the precise message; the open itself never blocks (a FIFO
// swapped in after the Stat is refused, not waited on).
func openRegular(path string) (*os.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, errNotRegular(st.Mode()))
	}
	f, err := readlimit.Open(path)
	if errors.Is(err, readlimit.ErrNotRegular) {
		return nil, fmt.Errorf("%w: %v", ErrSpecialFile, err)
	}
	return f, err
}

func shardedFile(ctx context.Context, path string, o Options) (*Sharded, error) {
	shard := o.ShardSize
	if shard <= 0 {
		shard = DefaultShardSize
	}
	if shard < 4096 {
		return nil, fmt.Errorf("sharded digest: shard size %d is too small (minimum 4096)", shard)
	}
	f, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("sharded digest: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("sharded digest: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("sharded digest %s: %w", path, errNotRegular(st.Mode()))
	}
	size := st.Size()
	n := int((size + shard - 1) / shard)
	if n == 0 {
		n = 1 // the empty file has one empty shard
	}
	s := &Sharded{Size: size, ShardSize: shard, Shards: make([]string, n)}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, n)
	workers := min(o.workers(), n)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := sha256.New()
			bp := bufPool.Get().(*[]byte)
			defer bufPool.Put(bp)
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[i] = err
					return
				}
				off := int64(i) * shard
				h.Reset()
				want := min(shard, size-off)
				var err error
				if o.NoMmap {
					err = readRange(h, f, off, want, *bp)
				} else {
					var ok bool
					if ok, err = hashRange(h, f, off, want); !ok {
						err = readRange(h, f, off, want, *bp)
					}
				}
				if err != nil {
					errs[i] = err
					return
				}
				s.Shards[i] = hex.EncodeToString(h.Sum(nil))
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("sharded digest %s: %w", path, err)
	}
	sum := sha256.Sum256(s.Canonical())
	s.Digest = "sha256:" + hex.EncodeToString(sum[:])
	return s, nil
}
