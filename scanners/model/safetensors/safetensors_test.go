package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/google/go-cmp/cmp"
)

// file builds a safetensors file from a header and a data section.
func file(header string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	return b.Bytes()
}

func input(b []byte) finding.Input {
	return finding.Input{R: bytes.NewReader(b), Size: int64(len(b)), Location: "m.safetensors", Limits: finding.DefaultLimits()}
}

// summary is "severity location" per finding and "unread location" per
// not-verified entry, the part tests compare.
func summary(res finding.Result) []string {
	var out []string
	for _, f := range res.Findings {
		out = append(out, f.Severity.String()+" "+f.Location)
	}
	for _, n := range res.NotVerified {
		out = append(out, "unread "+n.Location)
	}
	return out
}

func TestScan(t *testing.T) {
	valid := `{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]}}`
	tests := []struct {
		name    string
		file    []byte
		want    []string
		wantErr bool
	}{
		{name: "valid", file: file(valid, make([]byte, 22))},
		{name: "valid padded header", file: file(valid+"      ", make([]byte, 22))},
		{name: "valid empty", file: file(`{}`, nil)},
		{name: "zero-sized tensor", file: file(`{"z":{"dtype":"F32","shape":[0,5],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{1})},
		{name: "F4 packs two per byte", file: file(`{"a":{"dtype":"F4","shape":[4],"data_offsets":[0,2]}}`, make([]byte, 2))},
		{name: "trailing payload", file: file(valid, make([]byte, 30)), want: []string{"high m.safetensors@" + fmt.Sprint(8+len(valid)+22)}},
		{name: "gap between tensors", file: file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[6,8]}}`, make([]byte, 8)),
			want: []string{"high m.safetensors#b"}},
		{name: "gap at start", file: file(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[4,6]}}`, make([]byte, 6)),
			want: []string{"high m.safetensors#a"}},
		{name: "overlap", file: file(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, make([]byte, 6)),
			want: []string{"unread m.safetensors#b"}},
		{name: "same bytes twice", file: file(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, make([]byte, 4)),
			want: []string{"unread m.safetensors#b"}},
		{name: "duplicate key", file: file(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}`, make([]byte, 4)),
			want: []string{"high m.safetensors#a"}},
		{name: "unknown dtype", file: file(`{"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,4]}}`, make([]byte, 4)),
			want: []string{"unread m.safetensors#a"}},
		{name: "size mismatch", file: file(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,4]}}`, make([]byte, 4)),
			want: []string{"unread m.safetensors#a"}},
		{name: "negative dim", file: file(`{"a":{"dtype":"U8","shape":[-4],"data_offsets":[0,4]}}`, make([]byte, 4)),
			want: []string{"unread m.safetensors#a"}},
		{name: "shape overflow", file: file(`{"a":{"dtype":"F64","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}`, make([]byte, 4)),
			want: []string{"unread m.safetensors#a"}},
		{name: "offsets past data", file: file(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, make([]byte, 4)),
			want: []string{"unread m.safetensors#a"}},
		{name: "begin after end", file: file(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}`, make([]byte, 4)),
			want: []string{"unread m.safetensors#a"}},
		{name: "three offsets", file: file(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,2,4]}}`, nil),
			want: []string{"unread m.safetensors#a"}},
		{name: "missing field", file: file(`{"a":{"dtype":"U8","shape":[4]}}`, nil),
			want: []string{"unread m.safetensors#a"}},
		{name: "metadata not strings", file: file(`{"__metadata__":{"n":1}}`, nil),
			want: []string{"unread m.safetensors#__metadata__"}},
		{name: "payload after JSON in header", file: file(`{}  import os`, nil), want: []string{"high m.safetensors@12"}},
		{name: "not JSON", file: file(`{"a":`, nil), wantErr: true},
		{name: "array header", file: file(`[1,2]`, nil), wantErr: true},
		{name: "tensor not object", file: file(`{"a":3}`, nil), wantErr: true},
		{name: "length past end", file: append(binary.LittleEndian.AppendUint64(nil, 1000), '{', '}'), wantErr: true},
		{name: "huge length", file: append(binary.LittleEndian.AppendUint64(nil, 1<<63), '{', '}'), wantErr: true},
		{name: "short", file: []byte{1, 2, 3}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Scan(input(tc.file))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			if diff := cmp.Diff(tc.want, summary(res)); diff != "" {
				t.Errorf("findings (-want +got):\n%s\nall: %+v", diff, res.Findings)
			}
			if res.Format != Format {
				t.Errorf("Format = %q", res.Format)
			}
		})
	}
}

func TestHeaderLimit(t *testing.T) {
	b := file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{0})
	in := input(b)
	in.Limits.MaxHeaderBytes = 10
	_, err := Scan(in)
	if err == nil || !strings.Contains(err.Error(), "MaxHeaderBytes") {
		t.Fatalf("err = %v, want the header limit named", err)
	}
}

func TestFindingsBounded(t *testing.T) {
	var h strings.Builder
	h.WriteString("{")
	for i := range 1000 {
		if i > 0 {
			h.WriteString(",")
		}
		fmt.Fprintf(&h, `"t%d":{"dtype":"XX","shape":[1],"data_offsets":[0,1]}`, i)
	}
	h.WriteString("}")
	res, err := Scan(input(file(h.String(), []byte{0})))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || len(res.NotVerified) != maxFindings+1 || !strings.Contains(res.NotVerified[maxFindings].Reason, "more header violations") {
		t.Fatalf("got %d findings and %d not verified, want %d not verified plus a summary", len(res.Findings), len(res.NotVerified), maxFindings)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		head []byte
		want bool
	}{
		{file(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}`, []byte{0}), true},
		{[]byte("GGUF\x03\x00\x00\x00\x00\x00"), false},
		{binary.LittleEndian.AppendUint64(nil, 1<<50), false},
		{[]byte("{}"), false},
	}
	for i, tc := range tests {
		if got := Detect(tc.head); got != tc.want {
			t.Errorf("%d: Detect = %v, want %v", i, got, tc.want)
		}
	}
}
