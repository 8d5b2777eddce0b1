package gguf

import (
	"bytes"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// FuzzGGUF: any input is judged or rejected without a panic, and findings
// stay bounded.
func FuzzGGUF(f *testing.F) {
	f.Add(valid().bytes())
	f.Add(valid().str("tokenizer.chat_template", "{{ ''.__class__ }}").u32("general.alignment", 64).bytes())
	f.Add(newBuilder().tensor("a", 0, 0, 16).tensor("b", 0, 32, 8).bytes())
	f.Add([]byte("GGUF\x01\x00\x00\x00"))
	f.Add([]byte("GGUF\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"))
	lim := finding.DefaultLimits()
	lim.MaxHeaderBytes = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		res, _ := Scan(finding.Input{R: bytes.NewReader(data), Size: int64(len(data)), Location: "f", Limits: lim})
		if len(res.Findings) > maxFindings+1 {
			t.Fatalf("%d findings", len(res.Findings))
		}
	})
}
