package model

import (
	"bytes"
	"context"
	"io"
	"path"
)

// ScanMember scans one file of a model folder that is not on disk (a file
// of an OCI layer, a bucket object), read front to back from rd. name is
// its slash-separated path in the folder, used in locations. As in a folder
// scan, an empty file is only not verified when named like a model file.
// The content is copied first (memory up to 4 MiB, then a temporary file
// in Options.TempDir), bounded by Limits.MaxFileSize: the format parsers
// need random access. A read error, a longer stream or a cancelled context
// is recorded as not verified, never as clean. Files that a model names as
// its external data are not matched across calls: each file stands alone.
func ScanMember(ctx context.Context, rd io.Reader, name string, opts Options) *Report {
	return ScanMemberSized(ctx, rd, name, -1, opts)
}

// ScanMemberSized is ScanMember for a file whose length the source states
// (a tar header, a manifest descriptor, object metadata; -1 when unknown).
// With the length known, a safetensors or GGUF file is judged as it streams
// past: only what the parser reads (the header) is held, the tensor data is
// read and counted but not copied. The verdict is the one a copy would get;
// a stream that holds other than size bytes is not verified. Any other file
// is copied as ScanMember does, into a buffer of its size when that is
// small.
func ScanMemberSized(ctx context.Context, rd io.Reader, name string, size int64, opts Options) *Report {
	s := newScanner(ctx, name, opts)
	limit := s.lim.MaxFileSize
	if limit <= 0 {
		limit = 1 << 62
	}
	lr := &io.LimitedReader{R: rd, N: limit + 1}
	src := io.Reader(lr)
	if size > headSize && size <= limit {
		head := make([]byte, headSize)
		m, err := readUpTo(lr, head)
		head = head[:m]
		if err == nil {
			if h := streamableFormat(head, size); h != nil {
				return s.scanStreamed(h, head, lr, size, limit, name)
			}
		}
		src = io.MultiReader(bytes.NewReader(head), replayErr(err, lr))
	}
	ra, n, done, over, err := spoolSized(src, limit, s.opts.TempDir, size, memSpool)
	if done != nil {
		defer done()
	}
	s.rep.FilesScanned++
	s.rep.BytesScanned += n
	switch {
	case ctx.Err() != nil:
		s.notVerified(name, "scan interrupted while reading: %v", ctx.Err())
	case err != nil:
		s.notVerified(name, "unreadable after %d bytes: %v", n, err)
	case over:
		s.notVerified(name, "file is longer than the %d-byte limit: not read whole, so not verified (raise --max-file-size)", limit)
	default:
		s.scanInput(ra, n, name, path.Base(name), "", 0)
	}
	return s.report(name)
}

// report finishes a ScanMember report: a cancelled scan is not verified.
func (s *scanner) report(name string) *Report {
	rep, ferr := s.finish(name)
	if ferr != nil {
		s.rep.Verified = false
		s.notVerified(name, "%v", ferr)
		return s.rep
	}
	return rep
}
