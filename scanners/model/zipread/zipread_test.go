package zipread

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type entry struct {
	name   string
	data   []byte
	flags  uint16
	method uint16
}

// build writes a zip by hand so that each trick can be applied; cdName
// renames entries in the central directory only, hide leaves entries out of it.
func build(entries []entry, cdName map[string]string, hide map[string]bool, noCD bool) []byte {
	var out bytes.Buffer
	type rec struct {
		e   entry
		off int
		cz  []byte
	}
	var recs []rec
	for _, e := range entries {
		cz := e.data
		if e.method == Deflate {
			var b bytes.Buffer
			w, _ := flate.NewWriter(&b, flate.BestSpeed)
			w.Write(e.data)
			w.Close()
			cz = b.Bytes()
		}
		off := out.Len()
		h := make([]byte, 30)
		binary.LittleEndian.PutUint32(h, sigLocal)
		binary.LittleEndian.PutUint16(h[4:], 20)
		binary.LittleEndian.PutUint16(h[6:], e.flags)
		binary.LittleEndian.PutUint16(h[8:], e.method)
		binary.LittleEndian.PutUint32(h[14:], 0xdeadbeef) // wrong CRC on purpose
		binary.LittleEndian.PutUint32(h[18:], uint32(len(cz)))
		binary.LittleEndian.PutUint32(h[22:], uint32(len(e.data)))
		binary.LittleEndian.PutUint16(h[26:], uint16(len(e.name)))
		out.Write(h)
		out.WriteString(e.name)
		out.Write(cz)
		recs = append(recs, rec{e, off, cz})
	}
	if noCD {
		return out.Bytes()
	}
	cdStart := out.Len()
	n := 0
	for _, r := range recs {
		if hide[r.e.name] {
			continue
		}
		name := r.e.name
		if v, ok := cdName[name]; ok {
			name = v
		}
		h := make([]byte, 46)
		binary.LittleEndian.PutUint32(h, sigCentral)
		binary.LittleEndian.PutUint16(h[8:], r.e.flags)
		binary.LittleEndian.PutUint16(h[10:], r.e.method)
		binary.LittleEndian.PutUint32(h[16:], 0xdeadbeef)
		binary.LittleEndian.PutUint32(h[20:], uint32(len(r.cz)))
		binary.LittleEndian.PutUint32(h[24:], uint32(len(r.e.data)))
		binary.LittleEndian.PutUint16(h[28:], uint16(len(name)))
		binary.LittleEndian.PutUint32(h[42:], uint32(r.off))
		out.Write(h)
		out.WriteString(name)
		n++
	}
	end := make([]byte, 22)
	binary.LittleEndian.PutUint32(end, sigEnd)
	binary.LittleEndian.PutUint16(end[8:], uint16(n))
	binary.LittleEndian.PutUint16(end[10:], uint16(n))
	binary.LittleEndian.PutUint32(end[12:], uint32(out.Len()-cdStart))
	binary.LittleEndian.PutUint32(end[16:], uint32(cdStart))
	out.Write(end)
	return out.Bytes()
}

type view struct {
	Name, Source, Data string
	Flags              uint16
}

func read(t *testing.T, b []byte) ([]view, *Archive) {
	t.Helper()
	a, err := Read(bytes.NewReader(b), int64(len(b)), Limits{MaxMembers: 100})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	var out []view
	for _, m := range a.Members {
		rd, err := a.Open(m)
		if err != nil {
			t.Fatalf("Open %s: %v", m.Name, err)
		}
		data, err := io.ReadAll(rd)
		if err != nil {
			t.Fatalf("read %s: %v", m.Name, err)
		}
		out = append(out, view{m.Name, m.Source, string(data), m.Flags})
	}
	return out, a
}

func TestTricks(t *testing.T) {
	a := entry{name: "a.pkl", data: []byte("AAAA")}
	b := entry{name: "b.bin", data: []byte("BBBBBBBB"), method: Deflate}
	cases := []struct {
		name    string
		zip     []byte
		want    []view
		central bool
	}{
		{"plain", build([]entry{a, b}, nil, nil, false),
			[]view{{"a.pkl", "central+local", "AAAA", 0}, {"b.bin", "central+local", "BBBBBBBB", 0}}, true},
		{"flag bits", build([]entry{{name: "x", data: []byte("X"), flags: 0x1 | 0x20 | 0x40}}, nil, nil, false),
			[]view{{"x", "central+local", "X", 0x61}}, true},
		{"renamed in central directory", build([]entry{a}, map[string]string{"a.pkl": "readme.txt"}, nil, false),
			[]view{{"readme.txt", "central+local", "AAAA", 0}}, true},
		{"hidden from central directory", build([]entry{a, b}, nil, map[string]bool{"b.bin": true}, false),
			[]view{{"a.pkl", "central+local", "AAAA", 0}, {"b.bin", "local", "BBBBBBBB", 0}}, true},
		{"no central directory", build([]entry{a, b}, nil, nil, true),
			[]view{{"a.pkl", "local", "AAAA", 0}, {"b.bin", "local", "BBBBBBBB", 0}}, false},
		{"prepended data", append([]byte("#!/bin/sh\nexit 0\n"), build([]entry{a}, nil, nil, false)...), nil, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, arch := read(t, tc.zip)
			if tc.want != nil {
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("(-want +got):\n%s", d)
				}
			} else if len(got) != 1 || got[0].Data != "AAAA" {
				t.Errorf("got %+v", got)
			}
			if arch.HasCentral != tc.central {
				t.Errorf("HasCentral = %v", arch.HasCentral)
			}
		})
	}
}

func TestLocalDisagreesWithCentral(t *testing.T) {
	z := build([]entry{{name: "a", data: []byte("0123456789")}}, nil, nil, false)
	// Shrink the size in the central directory: both views must be returned.
	cd := bytes.Index(z, []byte("PK\x01\x02"))
	binary.LittleEndian.PutUint32(z[cd+20:], 4)
	binary.LittleEndian.PutUint32(z[cd+24:], 4)
	got, _ := read(t, z)
	want := []view{{"a", "central", "0123", 0}, {"a", "local", "0123456789", 0}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestStdlibZipAndDataDescriptor(t *testing.T) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, n := range []string{"archive/data.pkl", "archive/data/0"} {
		f, _ := w.Create(n) // deflate with a data descriptor
		f.Write(bytes.Repeat([]byte(n), 100))
	}
	w.Close()
	got, _ := read(t, buf.Bytes())
	if len(got) != 2 || got[1].Data != string(bytes.Repeat([]byte("archive/data/0"), 100)) {
		t.Fatalf("got %+v", got)
	}
	// Without the central directory, sizes come from inflating.
	b := buf.Bytes()
	cut := bytes.Index(b, []byte("PK\x01\x02"))
	got, a := read(t, b[:cut])
	if len(got) != 2 || a.HasCentral || got[0].Data != string(bytes.Repeat([]byte("archive/data.pkl"), 100)) {
		t.Fatalf("no central directory: got %d members %+v", len(got), got)
	}
}

func TestErrors(t *testing.T) {
	if _, err := Read(bytes.NewReader([]byte("hello")), 5, Limits{}); err != ErrNotZip {
		t.Errorf("not a zip: err = %v", err)
	}
	var es []entry
	for i := range 20 {
		es = append(es, entry{name: string(rune('a' + i)), data: []byte{byte(i)}})
	}
	z := build(es, nil, nil, false)
	if _, err := Read(bytes.NewReader(z), int64(len(z)), Limits{MaxMembers: 5}); err == nil {
		t.Error("member limit not enforced")
	}
	m := Member{Name: "x", Method: 99, CompressedSize: 1, DataOffset: 0}
	a := &Archive{r: bytes.NewReader(z), size: int64(len(z))}
	if _, err := a.Open(m); err == nil {
		t.Error("unknown method accepted")
	}
	m.Method, m.CompressedSize = Store, uint64(len(z)+1)
	if _, err := a.Open(m); err == nil {
		t.Error("member past the end accepted")
	}
}

// FuzzZipRead: any input reads without panicking; members found can be opened or fail cleanly.
func FuzzZipRead(f *testing.F) {
	f.Add(build([]entry{{name: "a.pkl", data: []byte("AAAA")}, {name: "b", data: []byte("BB"), method: Deflate}}, nil, nil, false))
	f.Add(build([]entry{{name: "a", data: []byte("A")}}, nil, nil, true))
	f.Add(build([]entry{{name: "a", data: []byte("A"), flags: 0x8}}, map[string]string{"a": "b"}, nil, false))
	f.Add([]byte("PK\x05\x06" + string(make([]byte, 18))))
	// Cut before the central directory, and inside a member: Damaged.
	whole := build([]entry{{name: "a.pkl", data: []byte("AAAA")}}, nil, nil, false)
	f.Add(whole[:bytes.Index(whole, []byte("PK\x01\x02"))])
	f.Add(whole[:34])
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Read(bytes.NewReader(data), int64(len(data)), Limits{MaxMembers: 1000})
		if err != nil || a == nil {
			return
		}
		if !a.HasCentral && len(a.Damaged) == 0 {
			t.Fatal("no central directory but the archive is not marked damaged")
		}
		for _, m := range a.Members {
			rd, err := a.Open(m)
			if err != nil {
				continue
			}
			io.Copy(io.Discard, io.LimitReader(rd, 1<<20))
		}
	})
}
