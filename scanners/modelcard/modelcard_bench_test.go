package modelcard

import (
	"fmt"
	"os"
	"strings"
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

// BenchmarkParseMarkdownLarge reads a 1 MiB card of nested sections (the
// shape that would cost size × depth if whole sections were examined).
func BenchmarkParseMarkdownLarge(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("# Model\n")
	for i := 0; sb.Len() < 1<<20; i++ {
		fmt.Fprintf(&sb, "## Evaluation %d\n### Results\n#### Limitations\n##### Ethical considerations\n", i)
		sb.WriteString(strings.Repeat("The model was measured on held-out data and results were reviewed. ", 40))
		sb.WriteString("\n- Accuracy: 0.91\n\n")
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseMarkdown("README.md", data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
