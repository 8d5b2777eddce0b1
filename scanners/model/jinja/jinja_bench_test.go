package jinja

import (
	"os"
	"testing"
)

// BenchmarkAnalyze: Qwen2.5's tool-calling chat template (real, 2.5 KB).
func BenchmarkAnalyze(b *testing.B) {
	src, err := os.ReadFile("testdata/benign/qwen2.5-instruct.jinja")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Analyze(string(src)); err != nil {
			b.Fatal(err)
		}
	}
}
