package model

import (
	"archive/zip"
	"bytes"
	"context"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	gen "github.com/gatehouse-dev/gatehouse/scanners/model/internal/corpus"
)

// FuzzScanReader: any input is judged by the dispatcher (archives, npy,
// pickles, every format) without a panic, and the report is coherent:
// verified exactly when nothing is unread, clean only when verified.
func FuzzScanReader(f *testing.F) {
	whole := zipOf(f, zm{"archive/data.pkl", benignPickle, zip.Store})
	seeds := [][]byte{
		nil,
		evilPickle,
		benignPickle[:len(benignPickle)-1],
		legacyTorch(benignPickle),
		legacyTorch(benignPickle)[:40],
		whole,
		whole[:bytes.Index(whole, []byte("PK\x01\x02"))],
		npy("<f4", make([]byte, 8)),
		npy("<f4", make([]byte, 4)),
		npy("|O", evilPickle),
		gz(evilPickle),
		tarGz(f, "m.pt", whole),
	}
	// Every single-file case of the generated issue-14 corpus (archive
	// escapes, pbtxt, templates, malformed FRAMEs, ONNX, ...).
	for _, c := range gen.Cases("jinja/testdata/benign") {
		if len(c.Files) == 1 {
			for _, b := range c.Files {
				seeds = append(seeds, b)
			}
		}
	}
	for _, s := range seeds {
		f.Add(s)
	}
	opts := DefaultOptions()
	opts.Limits.MaxOpcodes = 100_000
	opts.Limits.MaxMemo = 10_000
	opts.Limits.MaxDecompressedBytes = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		rep := ScanReader(context.Background(), bytes.NewReader(data), int64(len(data)), "m.bin", opts)
		if rep.Verified != (len(rep.NotVerified) == 0) {
			t.Fatalf("verified=%v with %d not verified", rep.Verified, len(rep.NotVerified))
		}
		if rep.Verdict(finding.Low) == VerdictClean && (!rep.Verified || len(data) == 0) {
			t.Fatalf("clean but not verified: %+v", rep.NotVerified)
		}
	})
}
