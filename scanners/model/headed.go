package model

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
)

// Formats judged from the stream: their parsers read the header front to
// back and only compare the tensor table with the file's length, never
// read the tensor data (safetensors.Scan reads the 8-byte length and the
// JSON header; gguf.Scan reads the key/value pairs and the tensor infos
// through a buffered reader, at most MaxHeaderBytes and 64 KiB of
// read-ahead). Any other format needs random access (zip directories at
// the end, HDF5 and ONNX offsets, pickles scanned twice) and is copied.
var streamedFormats = map[string]bool{"safetensors": true, "GGUF": true}

// streamableFormat returns the handler scanInput would pick for a file of
// size bytes starting with head, when that is a format judged from the
// stream; nil otherwise. scanInput tries archive and numpy magics before
// the format table: any head that could be one of those (a superset of
// its tests, so a safetensors header length that happens to spell "PK" or
// a JSON header holding "ustar" at byte 257 is copied and judged as
// before) is left to the copying path.
func streamableFormat(head []byte, size int64) *formatHandler {
	if size <= int64(len(head)) || len(head) < headSize {
		return nil
	}
	for _, m := range []string{"PK", "\x1f\x8b", "BZh", "7z", "\xfd7zXZ", "\x28\xb5\x2f\xfd", "Rar!", "\x93NUMPY"} {
		if bytes.HasPrefix(head, []byte(m)) {
			return nil
		}
	}
	if bytes.Contains(head[257:min(len(head), 263)], []byte("ustar")) || looksLikeV7Tar(head) {
		return nil
	}
	h := detectFormat(head, size)
	if h == nil || !streamedFormats[h.name] || h.scan == nil {
		return nil
	}
	return h
}

// scanStreamed judges a safetensors or GGUF file while it streams past
// (see ScanMemberSized), then reads the rest of the stream, counting it.
// The parse is kept only when the stream held exactly size bytes, read
// without error, and the parser never asked for bytes already passed;
// otherwise the report says why the file is not verified, as a copy's
// would (a read error, a longer stream, a cancelled context) or naming the
// stream's length against the stated one.
func (s *scanner) scanStreamed(h *formatHandler, head []byte, lr *io.LimitedReader, size, limit int64, name string) *Report {
	fa := &forwardAt{head: head, r: lr, pos: int64(len(head))}
	got := s.scanInput(fa, size, name, path.Base(name), "", 0)
	// The rest: read, counted, not copied (the layer's digest is checked
	// by the source as these bytes pass).
	var rest int64
	var err error
	if fa.err == nil || fa.err == io.EOF {
		rest, err = io.CopyBuffer(struct{ io.Writer }{io.Discard}, lr, make([]byte, spoolCopyBuf))
	}
	if fa.err != nil && fa.err != io.EOF {
		err = fa.err
	}
	n := fa.pos + rest
	if bad := s.ctx.Err() != nil || err != nil || lr.N <= 0 || n != size || fa.strayed || got != h.name; bad {
		// Nothing the parse saw stands: start the report afresh.
		s = newScanner(s.ctx, name, s.opts)
		switch {
		case s.ctx.Err() != nil:
			s.notVerified(name, "scan interrupted while reading: %v", s.ctx.Err())
		case err != nil:
			s.notVerified(name, "unreadable after %d bytes: %v", n, err)
		case lr.N <= 0:
			s.notVerified(name, "file is longer than the %d-byte limit: not read whole, so not verified (raise --max-file-size)", limit)
		case n != size:
			s.notVerified(name, "the stream held %d bytes but its source states %d: not verified", n, size)
		default:
			s.notVerified(name, "%s file judged from the stream: the parser read out of order (read %q, expected %q); not verified", h.name, got, h.name)
		}
	}
	s.rep.FilesScanned++
	s.rep.BytesScanned += n
	return s.report(name)
}

// errPassed: a read asked for stream bytes already passed and not kept.
var errPassed = errors.New("bytes already streamed past")

// forwardAt serves ReadAt from a stream read once, front to back: the
// first bytes (head) are kept, later ones are read (skipping forward as
// needed) when asked for, and not kept. A read of bytes already passed
// fails and is remembered (strayed), so the caller can refuse the result.
type forwardAt struct {
	head    []byte
	r       io.Reader
	pos     int64 // offset in the stream of r's next byte
	err     error // r's first error (io.EOF included)
	strayed bool
}

func (f *forwardAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	n := 0
	if off < int64(len(f.head)) {
		n = copy(p, f.head[off:])
	}
	if n == len(p) {
		return n, nil
	}
	at := off + int64(n)
	if at < f.pos {
		f.strayed = true
		return n, fmt.Errorf("offset %d: %w (at %d)", at, errPassed, f.pos)
	}
	if f.err != nil {
		return n, f.err
	}
	if skip := at - f.pos; skip > 0 {
		k, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, io.LimitReader(f.r, skip), make([]byte, min(skip, 64<<10)))
		f.pos += k
		if err == nil && k < skip {
			err = io.EOF
		}
		if err != nil {
			f.err = err
			return n, err
		}
	}
	m, err := readUpTo(f.r, p[n:])
	f.pos += int64(m)
	n += m
	if err != nil {
		f.err = err
		return n, err
	}
	return n, nil
}

// readUpTo fills b from r, returning r's own error (io.EOF when the stream
// ended first; nil when b was filled). Unlike io.ReadFull it does not turn
// an early end into io.ErrUnexpectedEOF, so a reader's own
// io.ErrUnexpectedEOF (a truncated tar entry) stays an error.
func readUpTo(r io.Reader, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := r.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// replayErr continues a stream after its first bytes were read: r itself,
// or, when reading those bytes ended in err, the end (io.EOF) or err again.
func replayErr(err error, r io.Reader) io.Reader {
	switch err {
	case nil:
		return r
	case io.EOF:
		return bytes.NewReader(nil)
	}
	return errReader{err}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
