package score

import (
	"os"
	"testing"
)

// BenchmarkLoad loads the web service fixture (parse, upgrade transforms,
// schema validation, mapping, placeholder validation) and builds its
// evidence. netpol needs 1,000 loads plus generation within 1 s.
func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile("testdata/web.score.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Load("web.score.yaml", "testdata", data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvidence measures building the evidence of a loaded spec.
func BenchmarkEvidence(b *testing.B) {
	spec, err := LoadFile("testdata/worker.score.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = spec.Evidence()
	}
}
