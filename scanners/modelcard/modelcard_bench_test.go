package modelcard

import (
	"os"
	"testing"
)

// BenchmarkParseMarkdown reads a full Hugging Face card (front matter with
// model-index and every section).
func BenchmarkParseMarkdown(b *testing.B) {
	data, err := os.ReadFile("testdata/full/README.md")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseMarkdown("README.md", data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseJSON(b *testing.B) {
	data, err := os.ReadFile("testdata/mct/model_card.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseJSON("model_card.json", data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
