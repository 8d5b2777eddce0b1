package pickle

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// errTruncated is returned when the stream ends inside an opcode.
var errTruncated = errors.New("pickle data was truncated")

// chunk is how much of a file the walker buffers at a time. Large payloads
// (tensor bytes inside a pickle) are skipped without being read.
const chunk = 256 << 10

// source is a forward-only buffered reader over an io.ReaderAt that knows
// its absolute offset and can skip without reading. A source built from a
// byte slice never calls ReadAt.
type source struct {
	r    io.ReaderAt
	base int64 // absolute offset of buf[0]
	buf  []byte
	pos  int
	end  int64 // absolute end of the readable region
	mem  bool  // buf holds the whole region
	own  []byte
}

func newSource(r io.ReaderAt, off, end int64) *source {
	if b, ok := r.(byteReaderAt); ok {
		data := b.bytes()
		if end > int64(len(data)) {
			end = int64(len(data))
		}
		if off > end {
			off = end
		}
		return &source{buf: data[off:end], base: off, end: end, mem: true}
	}
	return &source{r: r, base: off, end: end, own: make([]byte, 0, chunk)}
}

// byteReaderAt lets the walker use an in-memory pickle directly.
type byteReaderAt interface {
	io.ReaderAt
	bytes() []byte
}

// Bytes wraps an in-memory pickle as an io.ReaderAt the walker reads without copying.
type Bytes []byte

func (b Bytes) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (b Bytes) bytes() []byte { return b }

// offset is the absolute offset of the next byte.
func (s *source) offset() int64 { return s.base + int64(s.pos) }

// fill makes at least want bytes available after pos (fewer at the end).
func (s *source) fill(want int) error {
	if s.mem {
		if len(s.buf)-s.pos >= want {
			return nil
		}
		return errTruncated
	}
	avail := len(s.buf) - s.pos
	if avail >= want {
		return nil
	}
	// Shift the unread tail to the front of the buffer.
	s.base += int64(s.pos)
	n := copy(s.own[:cap(s.own)], s.buf[s.pos:])
	s.pos = 0
	if want > cap(s.own) {
		grown := make([]byte, n, want+chunk)
		copy(grown, s.own[:n])
		s.own = grown
	}
	buf := s.own[:cap(s.own)]
	for n < want {
		remain := s.end - (s.base + int64(n))
		if remain <= 0 {
			break
		}
		space := int64(len(buf) - n)
		if space > remain {
			space = remain
		}
		m, err := s.r.ReadAt(buf[n:n+int(space)], s.base+int64(n))
		n += m
		if err != nil && err != io.EOF {
			s.buf = buf[:n]
			return fmt.Errorf("read at offset %d: %w", s.base+int64(n), err)
		}
		if m == 0 {
			break
		}
	}
	s.buf = buf[:n]
	s.own = buf[:0]
	if n < want {
		return errTruncated
	}
	return nil
}

func (s *source) readByte() (byte, error) {
	if s.pos < len(s.buf) {
		c := s.buf[s.pos]
		s.pos++
		return c, nil
	}
	if err := s.fill(1); err != nil {
		return 0, err
	}
	c := s.buf[s.pos]
	s.pos++
	return c, nil
}

// read returns the next n bytes (n small: at most maxKeep or an opcode
// argument); the slice is valid until the next call.
func (s *source) read(n int) ([]byte, error) {
	if len(s.buf)-s.pos < n {
		if err := s.fill(n); err != nil {
			return nil, err
		}
	}
	b := s.buf[s.pos : s.pos+n]
	s.pos += n
	return b, nil
}

// skip moves n bytes forward without reading them.
func (s *source) skip(n int64) error {
	if n < 0 {
		return errors.New("negative length")
	}
	if avail := int64(len(s.buf) - s.pos); n <= avail {
		s.pos += int(n)
		return nil
	}
	target := s.offset() + n
	if target > s.end || target < 0 {
		return errTruncated
	}
	if s.mem {
		return errTruncated
	}
	s.base = target
	s.buf = s.own[:0]
	s.pos = 0
	return nil
}

// readLine returns the bytes up to (not including) the next '\n'. Lines
// longer than keep bytes are skipped and reported with long=true.
func (s *source) readLine(keep int) (line []byte, long bool, err error) {
	var kept []byte
	total := 0
	for {
		if s.pos >= len(s.buf) {
			if err := s.fill(1); err != nil {
				return nil, false, err
			}
		}
		rest := s.buf[s.pos:]
		i := bytes.IndexByte(rest, '\n')
		if i >= 0 {
			if total == 0 && i <= keep {
				line = rest[:i]
				s.pos += i + 1
				return line, false, nil
			}
			if total+i <= keep {
				kept = append(kept, rest[:i]...)
			}
			s.pos += i + 1
			total += i
			return kept, total > keep, nil
		}
		if total+len(rest) <= keep {
			kept = append(kept, rest...)
		} else {
			kept = nil
		}
		total += len(rest)
		s.pos += len(rest)
	}
}
