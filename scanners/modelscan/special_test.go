package modelscan

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/internal/readlimit"
)

// TestCollectRefusesSpecialFiles: a report that is a FIFO with no writer
// or a device is refused at once, never read (blocking, or endless).
func TestCollectRefusesSpecialFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "report.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{fifo, "/dev/zero", "/dev/null"} {
		t.Run(path, func(t *testing.T) {
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s: %v", path, err)
			}
			c := &Collector{Report: path}
			if _, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindModel, Ref: "m"}); !errors.Is(err, readlimit.ErrNotRegular) {
				t.Fatalf("Collect(report %s) error = %v, want ErrNotRegular", path, err)
			}
		})
	}
}

func TestParseEvidenceSubject(t *testing.T) {
	c := &Collector{}
	for _, tt := range []struct{ name, doc, want, err string }{
		{"input_path", `{"summary":{"input_path":"models/fraud","scanned":{"total_scanned":1}}}`, "models/fraud", ""},
		{"no input_path", `{"summary":{"scanned":{"total_scanned":1}}}`, "", ""},
		{"collection error", `{"error":"modelscan report: open r.json: no such file"}`, "", "collection error"},
		{"error beside a summary", `{"error":"x","summary":{"scanned":{"total_scanned":1}}}`, "", "collection error"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := c.ParseEvidence([]byte(tt.doc))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out, _ := json.Marshal(v)
			has := strings.Contains(string(out), `"subject":{"path":"`+tt.want+`"}`)
			if (tt.want != "") != has || (tt.want == "" && strings.Contains(string(out), `"subject"`)) {
				t.Fatalf("evidence %s, want subject path %q", out, tt.want)
			}
		})
	}
	if got := c.MaxEvidenceBytes(); got != DefaultLimits().MaxReportBytes {
		t.Errorf("MaxEvidenceBytes = %d, want the report limit %d", got, DefaultLimits().MaxReportBytes)
	}
}

func FuzzParseEvidence(f *testing.F) {
	for _, name := range []string{"clean.json", "critical.json", "mixed.json", "nothing.json"} {
		f.Add(read(f, name))
	}
	f.Add([]byte(`{"error":"x"}`))
	f.Add([]byte(`{"summary":{"input_path":"m\n::error::x","scanned":{"total_scanned":1}}}`))
	c := &Collector{Limits: Limits{MaxReportBytes: 1 << 20, MaxEntries: 1000, MaxTextBytes: 256}}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := c.ParseEvidence(data)
		if err != nil {
			return
		}
		ev := v.(Evidence)
		if ev.Subject != nil && ev.Subject.Path == "" {
			t.Fatalf("subject without a path from %q", data)
		}
		if ev.Verified && (ev.FilesScanned == 0 || len(ev.NotVerified) > 0) {
			t.Fatalf("verified with %d files scanned and %d not verified", ev.FilesScanned, len(ev.NotVerified))
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("evidence does not marshal: %v", err)
		}
	})
}
