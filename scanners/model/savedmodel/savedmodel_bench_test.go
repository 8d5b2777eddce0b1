package savedmodel

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// BenchmarkSavedModel walks a graph of 20,000 nodes plus a TF2 saver.
func BenchmarkSavedModel(b *testing.B) {
	var nodes [][]byte
	for i := range 20000 {
		nodes = append(nodes, nodeDef(fmt.Sprintf("layer_%d/MatMul", i), "MatMul"))
	}
	file := savedModel(nodes, tf2Saver()...)
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Scan(finding.Input{R: bytes.NewReader(file), Size: int64(len(file)), Location: "m", Limits: finding.DefaultLimits()})
		if err != nil || len(res.Findings) != 0 {
			b.Fatal(err, res.Findings)
		}
	}
}
