package safetensors

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkSafetensorsHeader judges a header of 1,000 tensors (about the
// size of a 7B-parameter model's index), reporting header bytes per second.
func BenchmarkSafetensorsHeader(b *testing.B) {
	var h strings.Builder
	h.WriteString(`{"__metadata__":{"format":"pt"}`)
	var off uint64
	for i := range 1000 {
		fmt.Fprintf(&h, `,"model.layers.%d.self_attn.q_proj.weight":{"dtype":"BF16","shape":[64,64],"data_offsets":[%d,%d]}`, i, off, off+8192)
		off += 8192
	}
	h.WriteString("}")
	hdr := []byte(h.String())
	b.SetBytes(int64(len(hdr)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := HeaderResult(hdr, off, "m")
		if err != nil || len(res.Findings) != 0 {
			b.Fatalf("%v %v", err, res.Findings)
		}
	}
}
