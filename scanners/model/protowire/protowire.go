// Package protowire walks protobuf messages held in an io.ReaderAt without
// loading them: a message is an extent of the source, its fields are
// visited one by one, and length-delimited values (sub-messages, strings,
// large tensor bytes) are handed over as extents, read only when asked.
// This keeps the memory for a 2 GiB ONNX file at one 64 KiB window.
//
// Tags and varints are decoded by google.golang.org/protobuf's protowire.
package protowire

import (
	"errors"
	"fmt"
	"io"

	pw "google.golang.org/protobuf/encoding/protowire"
)

// ErrMalformed is wrapped by every error about bytes that are not valid
// protobuf wire format.
var ErrMalformed = errors.New("malformed protobuf")

// Type is a wire type.
type Type = pw.Type

// Wire types, re-exported so callers import only this package.
const (
	VarintType  = pw.VarintType
	Fixed32Type = pw.Fixed32Type
	Fixed64Type = pw.Fixed64Type
	BytesType   = pw.BytesType
)

const window = 64 << 10

// Source is a protobuf byte source with a read window.
type Source struct {
	r      io.ReaderAt
	size   int64
	win    []byte
	winOff int64
	// Reads counts ReadAt calls (for tests and benchmarks).
	Reads int
}

// NewSource reads the protobuf bytes [0, size) of r.
func NewSource(r io.ReaderAt, size int64) *Source {
	return &Source{r: r, size: size}
}

// Size is the length of the source.
func (s *Source) Size() int64 { return s.size }

// peek returns up to n bytes at off (fewer at the end of the source).
func (s *Source) peek(off, n int64) ([]byte, error) {
	if off < 0 || off > s.size {
		return nil, fmt.Errorf("%w: offset %d outside the %d-byte input", ErrMalformed, off, s.size)
	}
	n = min(n, s.size-off)
	if off >= s.winOff && off+n <= s.winOff+int64(len(s.win)) {
		return s.win[off-s.winOff : off-s.winOff+n], nil
	}
	wl := min(max(n, window), s.size-off)
	if int64(cap(s.win)) < wl {
		s.win = make([]byte, wl)
	}
	s.win = s.win[:wl]
	s.Reads++
	if m, err := s.r.ReadAt(s.win, off); int64(m) < wl {
		s.win = s.win[:0]
		return nil, fmt.Errorf("read at offset %d: %w", off, err)
	}
	s.winOff = off
	return s.win[:n], nil
}

// Field is one field of a message. For BytesType, Off and Len give the
// value's extent; for the other types Varint holds the value.
type Field struct {
	Num    pw.Number
	Type   pw.Type
	Varint uint64
	Off    int64 // start of the field's value
	Len    int64 // length of a BytesType value
}

// Fields calls fn for each field of the message occupying [off, off+n), in
// order; fn's error stops the walk and is returned.
func (s *Source) Fields(off, n int64, fn func(Field) error) error {
	end := off + n
	if n < 0 || off < 0 || end > s.size {
		return fmt.Errorf("%w: message [%d, +%d) outside the %d-byte input", ErrMalformed, off, n, s.size)
	}
	for off < end {
		b, err := s.peek(off, min(20, end-off))
		if err != nil {
			return err
		}
		num, typ, k := pw.ConsumeTag(b)
		if k < 0 {
			return fmt.Errorf("%w: bad field tag at offset %d: %v", ErrMalformed, off, pw.ParseError(k))
		}
		f := Field{Num: num, Type: typ, Off: off + int64(k)}
		b = b[k:]
		switch typ {
		case pw.VarintType:
			v, m := pw.ConsumeVarint(b)
			if m < 0 {
				return fmt.Errorf("%w: bad varint of field %d at offset %d", ErrMalformed, num, f.Off)
			}
			f.Varint, off = v, f.Off+int64(m)
		case pw.Fixed32Type:
			v, m := pw.ConsumeFixed32(b)
			if m < 0 {
				return fmt.Errorf("%w: truncated fixed32 field %d at offset %d", ErrMalformed, num, f.Off)
			}
			f.Varint, off = uint64(v), f.Off+4
		case pw.Fixed64Type:
			if end-f.Off < 8 {
				return fmt.Errorf("%w: truncated fixed64 field %d at offset %d", ErrMalformed, num, f.Off)
			}
			v, _ := pw.ConsumeFixed64(b)
			f.Varint, off = v, f.Off+8
		case pw.BytesType:
			l, m := pw.ConsumeVarint(b)
			if m < 0 {
				return fmt.Errorf("%w: bad length of field %d at offset %d", ErrMalformed, num, f.Off)
			}
			f.Off += int64(m)
			if l > uint64(end-f.Off) {
				return fmt.Errorf("%w: field %d at offset %d claims %d bytes, %d left in its message", ErrMalformed, num, f.Off, l, end-f.Off)
			}
			f.Len = int64(l)
			off = f.Off + f.Len
		default:
			return fmt.Errorf("%w: field %d at offset %d has wire type %d (groups are not used by this format)", ErrMalformed, num, off, typ)
		}
		if off > end {
			return fmt.Errorf("%w: field %d at offset %d runs past its message", ErrMalformed, num, f.Off)
		}
		if err := fn(f); err != nil {
			return err
		}
	}
	return nil
}

// Bytes returns a copy of a BytesType field's value; values longer than
// max are an error naming the field.
func (s *Source) Bytes(f Field, max int) ([]byte, error) {
	if f.Type != pw.BytesType {
		return nil, fmt.Errorf("%w: field %d at offset %d is wire type %d, want length-delimited", ErrMalformed, f.Num, f.Off, f.Type)
	}
	if f.Len > int64(max) {
		return nil, fmt.Errorf("%w: field %d at offset %d is %d bytes, over the %d-byte bound", ErrMalformed, f.Num, f.Off, f.Len, max)
	}
	b, err := s.peek(f.Off, f.Len)
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}

// String is Bytes as a string.
func (s *Source) String(f Field, max int) (string, error) {
	b, err := s.Bytes(f, max)
	return string(b), err
}

// Message walks a BytesType field's value as a message.
func (s *Source) Message(f Field, fn func(Field) error) error {
	if f.Type != pw.BytesType {
		return fmt.Errorf("%w: field %d at offset %d is wire type %d, want a message", ErrMalformed, f.Num, f.Off, f.Type)
	}
	return s.Fields(f.Off, f.Len, fn)
}

// AppendTag, AppendVarint and AppendBytes build messages (for tests and
// fixtures of the format packages).
func AppendTag(b []byte, num pw.Number, typ pw.Type) []byte { return pw.AppendTag(b, num, typ) }

// AppendVarintField appends a varint field.
func AppendVarintField(b []byte, num pw.Number, v uint64) []byte {
	return pw.AppendVarint(pw.AppendTag(b, num, pw.VarintType), v)
}

// AppendBytesField appends a length-delimited field (a string or a message).
func AppendBytesField(b []byte, num pw.Number, v []byte) []byte {
	return pw.AppendBytes(pw.AppendTag(b, num, pw.BytesType), v)
}

// Head is a protobuf walk over bytes in memory that stops at the end of the
// buffer instead of failing: for content sniffing on a file's first bytes.
// It returns the first fields whose tags and (for varints) values are
// complete, at most n of them.
func Head(b []byte, n int) []Field {
	var out []Field
	off := 0
	for len(out) < n && off < len(b) {
		num, typ, k := pw.ConsumeTag(b[off:])
		if k < 0 || num < 1 {
			return out
		}
		f := Field{Num: num, Type: typ, Off: int64(off + k)}
		off += k
		switch typ {
		case pw.VarintType:
			v, m := pw.ConsumeVarint(b[off:])
			if m < 0 {
				return out
			}
			f.Varint = v
			off += m
		case pw.BytesType:
			l, m := pw.ConsumeVarint(b[off:])
			if m < 0 {
				return out
			}
			f.Off += int64(m)
			f.Len = int64(l)
			off += m
			if l > uint64(len(b)-off) {
				return append(out, f) // the value runs past the head: fine for a sniff
			}
			off += int(l)
		case pw.Fixed32Type:
			off += 4
		case pw.Fixed64Type:
			off += 8
		default:
			return out
		}
		out = append(out, f)
	}
	return out
}
