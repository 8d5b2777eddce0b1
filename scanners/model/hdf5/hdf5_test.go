package hdf5

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/google/go-cmp/cmp"
)

func values(root Root) map[string][]string {
	m := map[string][]string{}
	for _, a := range root.Attributes {
		m[a.Name] = a.Values
	}
	return m
}

func TestReadRoot(t *testing.T) {
	attrs := []attr{{name: "model_config", value: `{"class_name":"Sequential"}`}, {name: "keras_version", value: "2.15.0", vlen: true}, {name: "backend", value: "tensorflow", vlen: true}}
	want := map[string][]string{"model_config": {`{"class_name":"Sequential"}`}, "keras_version": {"2.15.0"}, "backend": {"tensorflow"}}
	for _, tc := range []struct {
		name string
		h    h5
	}{
		{"v0 superblock, v1 header, v1 attributes", h5{sbVersion: 0, attrVersion: 1}},
		{"v0 with continuation", h5{sbVersion: 0, attrVersion: 1, continued: true}},
		{"v0 with 512-byte user block", h5{sbVersion: 0, attrVersion: 1, userblock: 512}},
		{"v2 superblock, OHDR, v3 attributes", h5{sbVersion: 2, attrVersion: 3}},
		{"v3 superblock, OHDR, v2 attributes", h5{sbVersion: 3, attrVersion: 2}},
		{"v2 with OCHK continuation", h5{sbVersion: 2, attrVersion: 3, continued: true}},
		{"v2 with user block", h5{sbVersion: 2, attrVersion: 3, userblock: 1024}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.h.attrs = attrs
			b := tc.h.bytes()
			root, err := ReadRoot(bytesReader(b), int64(len(b)), finding.DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, values(root)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if !Detect(b[:min(len(b), 4096)]) {
				t.Error("Detect = false")
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	good := (&h5{sbVersion: 0, attrs: []attr{{name: "k", value: "v", vlen: true}}}).bytes()
	good2 := (&h5{sbVersion: 2, attrVersion: 3, attrs: []attr{{name: "k", value: "v"}}, continued: true}).bytes()
	mut := func(b []byte, f func([]byte)) []byte {
		c := append([]byte(nil), b...)
		f(c)
		return c
	}
	tests := map[string][]byte{
		"no signature":           []byte("not an hdf5 file at all, just text"),
		"truncated superblock":   good[:20],
		"bad superblock version": mut(good, func(b []byte) { b[8] = 7 }),
		"bad offset size":        mut(good, func(b []byte) { b[13] = 3 }),
		"root header past end":   mut(good, func(b []byte) { binary.LittleEndian.PutUint64(b[64:], 1<<40) }),
		"root header not header": mut(good, func(b []byte) { binary.LittleEndian.PutUint64(b[64:], 0) }),
		"header size past end":   mut(good, func(b []byte) { binary.LittleEndian.PutUint32(b[96+8:], 1<<30) }),
		"message past block":     mut(good, func(b []byte) { binary.LittleEndian.PutUint16(b[96+16+2:], 4000) }),
		"heap not GCOL":          mut(good, func(b []byte) { i := strings.Index(string(b), "GCOL"); copy(b[i:], "XXXX") }),
		"heap object missing":    mut(good, func(b []byte) { i := strings.Index(string(b), "GCOL"); b[i+16] = 9 }),
		"continuation loop":      loopV2(good2),
		"ochk signature missing": mut(good2, func(b []byte) { i := strings.Index(string(b), "OCHK"); copy(b[i:], "XXXX") }),
	}
	for name, b := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ReadRoot(bytesReader(b), int64(len(b)), finding.DefaultLimits())
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

// loopV2 points the OCHK continuation of a v2 file back at itself by
// adding a second continuation message inside it.
func loopV2(b []byte) []byte {
	c := append([]byte(nil), b...)
	i := strings.Index(string(c), "OCHK")
	// Overwrite the first message of the OCHK block with a continuation to
	// the block itself.
	msg := []byte{0x10}
	msg = binary.LittleEndian.AppendUint16(msg, 16)
	msg = append(msg, 0)
	msg = binary.LittleEndian.AppendUint64(msg, uint64(i))
	msg = binary.LittleEndian.AppendUint64(msg, 64)
	copy(c[i+4:], msg)
	return c
}

func TestLimit(t *testing.T) {
	b := (&h5{sbVersion: 0, attrs: []attr{{name: "model_config", value: strings.Repeat("x", 5000), vlen: true}}}).bytes()
	lim := finding.DefaultLimits()
	lim.MaxHeaderBytes = 1024
	_, err := ReadRoot(bytesReader(b), int64(len(b)), lim)
	if err == nil || !strings.Contains(err.Error(), "MaxHeaderBytes") {
		t.Fatalf("err = %v, want the limit named", err)
	}
}

func TestScanNotVerified(t *testing.T) {
	b := mustRead(t, "testdata/dense_attrs.h5")
	res, err := Scan(finding.Input{R: bytesReader(b), Size: int64(len(b)), Location: "m.h5", Limits: finding.DefaultLimits()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.NotVerified) != 1 || !strings.Contains(res.NotVerified[0].Reason, "dense storage") || res.NotVerified[0].Location != "m.h5" {
		t.Fatalf("got %+v, want dense storage not verified", res)
	}
}

func TestDetect(t *testing.T) {
	ub := make([]byte, 2048+8)
	copy(ub[2048:], Signature)
	for _, tc := range []struct {
		head []byte
		want bool
	}{
		{[]byte(Signature), true},
		{ub, true},
		{append(make([]byte, 100), Signature...), false},
		{[]byte("GGUF"), false},
	} {
		if got := Detect(tc.head); got != tc.want {
			t.Errorf("Detect(%q...) = %v", tc.head[:min(8, len(tc.head))], got)
		}
	}
}
