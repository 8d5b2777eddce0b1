package model

import (
	"context"
	"io"
	"path"
)

// ScanMember scans one file of a model folder that is not on disk (a file
// of an OCI layer, a bucket object), read front to back from rd. name is
// its slash-separated path in the folder, used in locations. As in a folder
// scan, an empty file is only not verified when named like a model file.
// The content is copied first (memory up to 32 MiB, then a temporary file
// in Options.TempDir), bounded by Limits.MaxFileSize: the format parsers
// need random access. A read error, a longer stream or a cancelled context
// is recorded as not verified, never as clean. Files that a model names as
// its external data are not matched across calls: each file stands alone.
func ScanMember(ctx context.Context, rd io.Reader, name string, opts Options) *Report {
	s := newScanner(ctx, name, opts)
	limit := s.lim.MaxFileSize
	if limit <= 0 {
		limit = 1 << 62
	}
	ra, n, done, over, err := spool(rd, limit, s.opts.TempDir)
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
	rep, ferr := s.finish(name)
	if ferr != nil {
		s.rep.Verified = false
		s.notVerified(name, "%v", ferr)
		return s.rep
	}
	return rep
}
