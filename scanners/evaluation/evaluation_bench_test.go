package evaluation

import (
	"fmt"
	"strings"
	"testing"
)

// bigClassification is a ClassificationMetrics artifact with an n×n
// confusion matrix and p ROC points.
func bigClassification(n, p int) []byte {
	var b strings.Builder
	b.WriteString(`{"type":{"schemaTitle":"system.ClassificationMetrics"},"metadata":{"confusionMatrix":{"annotationSpecs":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"displayName":"class-%d"}`, i)
	}
	b.WriteString(`],"rows":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"row":[`)
		for j := 0; j < n; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			v := 1
			if i == j {
				v = 50
			}
			fmt.Fprint(&b, v)
		}
		b.WriteString(`]}`)
	}
	b.WriteString(`]},"confidenceMetrics":[`)
	for i := 0; i < p; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		x := float64(i) / float64(p)
		fmt.Fprintf(&b, `{"confidenceThreshold":%g,"recall":%g,"falsePositiveRate":%g}`, 1-x, x*(2-x), x)
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}

func benchParse(b *testing.B, data []byte) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ParseSource("bench.json", data, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseKFPLarge: a 1000-class confusion matrix (1M cells) and
// 100,000 ROC points, the default limits.
func BenchmarkParseKFPLarge(b *testing.B) { benchParse(b, bigClassification(1000, 100000)) }

// BenchmarkParseKFPTypical: 10 classes, 200 ROC points.
func BenchmarkParseKFPTypical(b *testing.B) { benchParse(b, bigClassification(10, 200)) }
