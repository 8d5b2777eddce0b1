package modelscan

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/gates"
	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	"github.com/google/go-cmp/cmp"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseReport(t *testing.T) {
	tests := []struct {
		file string
		want Evidence
	}{
		{"clean.json", Evidence{Schema: Schema, Subject: &Subject{Path: "models/clean"}, Scanner: "modelscan", ScannerVersion: "0.8.6", Verified: true, FilesScanned: 2,
			Findings: []finding.Finding{}, NotVerified: []finding.NotVerified{}}},
		{"critical.json", Evidence{Schema: Schema, Subject: &Subject{Path: "models/fraud"}, Scanner: "modelscan", ScannerVersion: "0.8.6", Verified: true, FilesScanned: 1,
			Findings: []finding.Finding{{Severity: finding.Critical, Location: "model.pkl", Module: "posix", Name: "system",
				Reason: "Use of unsafe operator 'system' from module 'posix' (modelscan.scanners.PickleUnsafeOpScan)"}},
			NotVerified: []finding.NotVerified{}}},
		{"mixed.json", Evidence{Schema: Schema, Subject: &Subject{Path: "models/mixed"}, Scanner: "modelscan", ScannerVersion: "0.8.6", Verified: false, FilesScanned: 3,
			Findings: []finding.Finding{
				{Severity: finding.Critical, Location: "outer.pt:archive/data.pkl", Module: "builtins", Name: "exec", Reason: "Use of unsafe operator 'exec' from module 'builtins' (modelscan.scanners.PyTorchUnsafeOpScan)"},
				{Severity: finding.Medium, Location: "keras.h5", Module: "Keras", Name: "Lambda", Reason: "Use of unsafe operator 'Lambda' from module 'Keras' (modelscan.scanners.H5LambdaDetectScan)"},
				{Severity: finding.High, Location: "a.pkl", Module: "builtins", Name: "getattr", Reason: `unsafe operator "getattr" from module "builtins"`},
			},
			NotVerified: []finding.NotVerified{
				{Location: "b.pkl", Reason: "modelscan error (PICKLE_GENOPS): Parsing error: unexpected opcode"},
				{Location: "models/mixed", Reason: "modelscan error (DEPENDENCY): To use h5 scanning, install modelscan[tensorflow]"},
				{Location: "README.md", Reason: "skipped by modelscan (SCAN_NOT_SUPPORTED): Model Scan did not scan file"},
				{Location: "broken.pt", Reason: "skipped by modelscan (BAD_ZIP): Skipping zip file due to error: File is not a zip file"},
				{Location: "models/mixed", Reason: "modelscan skipped 1 files it does not name (run it with --show-skipped)"},
			}}},
		{"nothing.json", Evidence{Schema: Schema, Subject: &Subject{Path: "models/empty"}, Scanner: "modelscan", ScannerVersion: "0.8.6", Verified: false, FilesScanned: 0,
			Findings:    []finding.Finding{},
			NotVerified: []finding.NotVerified{{Location: "models/empty", Reason: "modelscan scanned nothing (summary.scanned.total_scanned is 0 or absent)"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseReport(read(t, tt.file), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseReport (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvidenceJSON(t *testing.T) {
	ev, err := ParseReport(read(t, "critical.json"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schema":"model_scan/v1","subject":{"path":"models/fraud"},"scanner":"modelscan","scanner_version":"0.8.6","verified":true,"files_scanned":1,` +
		`"findings":[{"severity":"critical","location":"model.pkl","module":"posix","name":"system","reason":"Use of unsafe operator 'system' from module 'posix' (modelscan.scanners.PickleUnsafeOpScan)"}],"not_verified":[]}`
	if diff := cmp.Diff(want, string(b)); diff != "" {
		t.Errorf("JSON (-want +got):\n%s", diff)
	}
}

func TestParseReportErrors(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
		limits            Limits
	}{
		{name: "empty", in: "", wantErr: "not a JSON object"},
		{name: "garbage", in: "modelscan 0.8.6\nScanning...", wantErr: "not a JSON object"},
		{name: "array", in: "[]", wantErr: "field : want modelscan.report, found JSON array"},
		{name: "no summary", in: `{"issues":[]}`, wantErr: `"summary" is missing`},
		{name: "wrapped stdout", in: `{"summary":{}} {"x":1}`, wantErr: "data after the JSON object"},
		{name: "issues not a list", in: `{"summary":{},"issues":{}}`, wantErr: "field issues: want []modelscan.issue, found JSON object"},
		{name: "severity type", in: `{"summary":{},"issues":[{"severity":3}]}`, wantErr: "field issues.severity: want string, found JSON number"},
		{name: "unknown severity", in: `{"summary":{"scanned":{"total_scanned":1}},"issues":[{"severity":"SEVERE","source":"a"}]}`, wantErr: `issues[0].severity: unknown severity "SEVERE"`},
		{name: "missing severity", in: `{"summary":{"scanned":{"total_scanned":1}},"issues":[{"source":"a"}]}`, wantErr: `issues[0].severity: unknown severity ""`},
		{name: "total mismatch", in: `{"summary":{"total_issues":2},"issues":[{"severity":"LOW"}]}`, wantErr: "summary.total_issues is 2 but issues has 1 entries"},
		{name: "negative scanned", in: `{"summary":{"scanned":{"total_scanned":-1}}}`, wantErr: "total_scanned is -1"},
		{name: "scanned type", in: `{"summary":{"scanned":{"total_scanned":"1"}}}`, wantErr: "field summary.scanned.total_scanned: want int, found JSON string"},
		{name: "too large", in: `{"summary":{}}`, limits: Limits{MaxReportBytes: 4, MaxEntries: 1, MaxTextBytes: 1}, wantErr: "more than the limit of 4"},
		{name: "too many entries", in: `{"summary":{},"issues":[{"severity":"LOW"},{"severity":"LOW"}]}`, limits: Limits{MaxReportBytes: 1 << 20, MaxEntries: 1, MaxTextBytes: 1}, wantErr: "more than the limit of 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseReport([]byte(tt.in), tt.limits)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestClip(t *testing.T) {
	ev, err := ParseReport([]byte(`{"summary":{"scanned":{"total_scanned":1}},"issues":[{"severity":"LOW","source":"a","description":"héllo\nwörld and more"}]}`),
		Limits{MaxReportBytes: 1 << 20, MaxEntries: 10, MaxTextBytes: 8})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ev.Findings[0].Reason, "héllo w…"; got != want {
		t.Errorf("reason = %q, want %q", got, want)
	}
}

func TestCollector(t *testing.T) {
	c, err := NewCollector(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "modelscan" {
		t.Errorf("Name = %q", c.Name())
	}
	if c.Applies(gates.Subject{Kind: gates.KindModel, Ref: "m"}) {
		t.Error("applies with no report configured")
	}
	c, err = NewCollector(map[string]any{"report": "critical.json"}, func(p string) string { return filepath.Join("testdata", p) })
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range gates.Kinds {
		if got := c.Applies(gates.Subject{Kind: k, Ref: "m"}); got != (k == gates.KindModel) {
			t.Errorf("Applies(%s) = %v", k, got)
		}
	}
	v, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindModel, Ref: "models/fraud"})
	if err != nil {
		t.Fatal(err)
	}
	if ev := v.(Evidence); len(ev.Findings) != 1 || ev.Findings[0].Severity != finding.Critical {
		t.Errorf("Collect findings = %+v, want one critical", ev.Findings)
	}
	v, err = c.ParseEvidence(read(t, "mixed.json"))
	if err != nil {
		t.Fatal(err)
	}
	if v.(Evidence).Verified {
		t.Error("mixed report with errors is verified")
	}
	if _, err := NewCollector(map[string]any{"report": 1}, nil); err == nil || !strings.Contains(err.Error(), "params.modelscan.report") {
		t.Errorf("NewCollector(report: 1) error = %v", err)
	}
	missing := &Collector{Report: "testdata/none.json"}
	if _, err := missing.Collect(context.Background(), gates.Subject{Kind: gates.KindModel}); err == nil || !strings.Contains(err.Error(), "none.json") {
		t.Errorf("missing report: error %v, want one naming the file", err)
	}
	bad := &Collector{Report: "testdata/nothing.json", Limits: Limits{MaxReportBytes: 10, MaxEntries: 1, MaxTextBytes: 1}}
	if _, err := bad.Collect(context.Background(), gates.Subject{Kind: gates.KindModel}); err == nil || !strings.Contains(err.Error(), "testdata/nothing.json") {
		t.Errorf("oversized report: error %v, want one naming the file", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Collect(ctx, gates.Subject{Kind: gates.KindModel}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v", err)
	}
}
