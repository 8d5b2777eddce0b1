package gguf

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// BenchmarkGGUFHeader reads a header shaped like a small Llama model's: a
// 32,000-token vocabulary, its scores, a chat template and 291 tensors.
func BenchmarkGGUFHeader(b *testing.B) {
	g := newBuilder().str("general.architecture", "llama").str("tokenizer.chat_template", "{% for m in messages %}{{ m.content }}{% endfor %}")
	toks := make([]string, 32000)
	for i := range toks {
		toks[i] = fmt.Sprintf("tok%d", i)
	}
	g.strArray("tokenizer.ggml.tokens", toks...)
	var off uint64
	for i := range 291 {
		g.tensor(fmt.Sprintf("blk.%d.attn_q.weight", i), 0, off, 8, 4)
		off += 128
	}
	g.data = make([]byte, off)
	file := g.bytes()
	b.SetBytes(int64(len(file)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Scan(finding.Input{R: bytes.NewReader(file), Size: int64(len(file)), Location: "m", Limits: finding.DefaultLimits()})
		if err != nil || len(res.Findings) != 1 {
			b.Fatal(err, res.Findings)
		}
	}
}
