package humanitec

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParseCheckResult reads a check result of 1,000 allowed subjects.
func BenchmarkParseCheckResult(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"schema":"gatehouse.check/v1","verdict":"allowed","allowed":true,"partial":false,"results":[`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"subject":{"kind":"image","ref":"ghcr.io/acme/svc-%d@sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"},"verdict":"allowed","allowed":true,"environment":"prod","gates":["signature","sonarqube"],"required_gates":["signature","sonarqube"],"partial":false,"missing_gates":[],"undecided":[],"violations":[],"warnings":[],"waivers":[],"expired_waivers":[],"policy_digest":"sha256:00","config_digest":"sha256:00","evidence_digests":{"sonarqube":"sha256:00"},"time":"2026-11-30T12:00:00Z"}`, i)
	}
	sb.WriteString("]}")
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if v := ParseCheckResult(data, "prod"); !v.Approve {
			b.Fatal(v.Reason)
		}
	}
}
