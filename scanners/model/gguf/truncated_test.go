package gguf

import (
	"bytes"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// TestTruncatedNeverClean: every proper prefix of a clean GGUF file is an
// error or not verified, never clean (a loader refuses a file cut short).
func TestTruncatedNeverClean(t *testing.T) {
	b := valid().str("general.name", "m").bytes()
	if res, err := Scan(input(b)); err != nil || len(res.Findings)+len(res.NotVerified) > 0 {
		t.Fatalf("the whole file is not clean: %v %+v", err, res)
	}
	for n := range len(b) {
		in := finding.Input{R: bytes.NewReader(b[:n]), Size: int64(n), Location: "m.gguf", Limits: finding.DefaultLimits()}
		res, err := Scan(in)
		if err == nil && len(res.NotVerified) == 0 && len(res.Findings) == 0 {
			t.Errorf("first %d of %d bytes scan clean", n, len(b))
		}
	}
}
