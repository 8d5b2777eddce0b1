package protowire

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	pw "google.golang.org/protobuf/encoding/protowire"
)

func TestFields(t *testing.T) {
	inner := AppendBytesField(nil, 1, []byte("hello"))
	msg := AppendVarintField(nil, 1, 300)
	msg = AppendBytesField(msg, 2, inner)
	msg = pw.AppendFixed32(AppendTag(msg, 3, pw.Fixed32Type), 7)
	msg = pw.AppendFixed64(AppendTag(msg, 4, pw.Fixed64Type), 9)
	s := NewSource(bytes.NewReader(msg), int64(len(msg)))
	var got []string
	err := s.Fields(0, s.Size(), func(f Field) error {
		switch f.Type {
		case BytesType:
			return s.Message(f, func(g Field) error {
				v, err := s.String(g, 10)
				got = append(got, v)
				return err
			})
		default:
			got = append(got, string(rune('0'+f.Num)))
			if f.Num == 1 && f.Varint != 300 || f.Num == 3 && f.Varint != 7 || f.Num == 4 && f.Varint != 9 {
				t.Errorf("field %d value %d", f.Num, f.Varint)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1", "hello", "3", "4"}, got); diff != "" {
		t.Error(diff)
	}
}

func TestMalformed(t *testing.T) {
	tests := map[string][]byte{
		"truncated varint":     {0x08, 0xff},
		"length past end":      {0x12, 0x05, 'a'},
		"group":                {0x0b, 0x0c},
		"zero tag":             {0x00},
		"truncated fixed64":    {0x21, 1, 2},
		"huge length":          {0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"truncated fixed32":    {0x1d, 1},
		"bad tag continuation": {0x80},
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			s := NewSource(bytes.NewReader(b), int64(len(b)))
			err := s.Fields(0, s.Size(), func(Field) error { return nil })
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestBytesBound(t *testing.T) {
	b := AppendBytesField(nil, 1, make([]byte, 100))
	s := NewSource(bytes.NewReader(b), int64(len(b)))
	err := s.Fields(0, s.Size(), func(f Field) error { _, err := s.Bytes(f, 10); return err })
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want the bound reported", err)
	}
}

func TestWindowReuse(t *testing.T) {
	var msg []byte
	for range 10000 {
		msg = AppendBytesField(msg, 1, []byte("abcdefgh"))
	}
	s := NewSource(bytes.NewReader(msg), int64(len(msg)))
	n := 0
	if err := s.Fields(0, s.Size(), func(Field) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 10000 || s.Reads > 3 {
		t.Errorf("fields = %d, reads = %d: want 10000 fields in at most 3 window reads", n, s.Reads)
	}
}

func TestHead(t *testing.T) {
	msg := AppendVarintField(nil, 1, 8)
	msg = AppendBytesField(msg, 2, []byte("pytorch"))
	msg = AppendBytesField(msg, 7, make([]byte, 1000))
	got := Head(msg[:30], 5)
	var nums []pw.Number
	for _, f := range got {
		nums = append(nums, f.Num)
	}
	if diff := cmp.Diff([]pw.Number{1, 2, 7}, nums); diff != "" {
		t.Error(diff)
	}
}

func FuzzProtowire(f *testing.F) {
	f.Add(AppendBytesField(AppendVarintField(nil, 1, 3), 2, AppendBytesField(nil, 1, []byte("x"))))
	f.Add([]byte{0x0b, 0x0c})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewSource(bytes.NewReader(b), int64(len(b)))
		var walk func(off, n int64, depth int) error
		walk = func(off, n int64, depth int) error {
			return s.Fields(off, n, func(f Field) error {
				if f.Type == BytesType && depth < 4 {
					_ = walk(f.Off, f.Len, depth+1)
				}
				return nil
			})
		}
		_ = walk(0, s.Size(), 0)
		Head(b, 10)
	})
}
