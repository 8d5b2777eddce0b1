package modelscan

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParseReport maps a report of 10,000 issues.
func BenchmarkParseReport(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"summary":{"total_issues":10000,"modelscan_version":"0.8.6","scanned":{"total_scanned":10000}},"issues":[`)
	for i := range 10_000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"description":"Use of unsafe operator 'system' from module 'posix'","operator":"system","module":"posix","source":"m%d.pkl","scanner":"modelscan.scanners.PickleUnsafeOpScan","severity":"CRITICAL"}`, i)
	}
	sb.WriteString(`],"errors":[]}`)
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseReport(data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}
