package modelscan

import (
	"encoding/json"
	"testing"
)

func FuzzModelScanReport(f *testing.F) {
	for _, name := range []string{"clean.json", "critical.json", "mixed.json", "nothing.json"} {
		f.Add(read(f, name))
	}
	f.Add([]byte(`{"summary":{"skipped":{"total_skipped":5}}}`))
	f.Add([]byte(`{"summary":{"total_issues":1},"issues":[{"severity":"Critical"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := ParseReport(data, Limits{MaxReportBytes: 1 << 20, MaxEntries: 1000, MaxTextBytes: 256})
		if err != nil {
			return
		}
		if ev.Verified && (ev.FilesScanned == 0 || len(ev.NotVerified) > 0) {
			t.Fatalf("verified with %d files scanned and %d not verified", ev.FilesScanned, len(ev.NotVerified))
		}
		for _, f := range ev.Findings {
			if f.Location == "" || f.Reason == "" {
				t.Fatalf("finding without location or reason: %+v", f)
			}
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("evidence does not marshal: %v", err)
		}
	})
}
