package onnx

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// BenchmarkONNX walks a 10,000-node graph with 64 MiB of initializers
// (skipped, never read): the cost is per node, not per weight byte.
func BenchmarkONNX(b *testing.B) {
	var parts [][]byte
	for i := range 10000 {
		parts = append(parts, nodeField(node(fmt.Sprintf("n%d", i), "MatMul", "")))
	}
	for i := range 64 {
		parts = append(parts, initializer(fmt.Sprintf("w%d", i), make([]byte, 1<<20)))
	}
	file := model(graph(parts...))
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Scan(finding.Input{R: bytes.NewReader(file), Size: int64(len(file)), Location: "m", Limits: finding.DefaultLimits()})
		if err != nil || len(res.Findings) != 0 {
			b.Fatal(err, res.Findings)
		}
	}
}
