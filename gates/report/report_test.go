package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/gates"
)

var when = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func sampleResults() []Result {
	img := gates.Subject{Kind: gates.KindImage, Ref: "ghcr.io/acme/api:1", Digest: "sha256:aa"}
	mdl := gates.Subject{Kind: gates.KindModel, Ref: "models/fraud.pt"}
	ds := gates.Subject{Kind: gates.KindDataset, Ref: "data/x.csv"}
	return []Result{
		{Subject: img, Decision: &gates.Decision{
			Subject: img, Environment: "prod", Allowed: false, Gates: []string{"signature", "sonarqube"},
			Violations: []gates.Finding{{Gate: "sonarqube", Rule: "quality_gate", Severity: "high", Message: "new_coverage 82.5 < 85", Remediation: "add tests"}},
			Warnings:   []gates.Finding{{Gate: "signature", Rule: "old", Severity: "low", Message: "signature is old, 100%: renew"}},
			Waived: []gates.AppliedWaiver{{
				Finding: gates.Finding{Gate: "signature", Rule: "missing", Severity: "high", Message: "unsigned"},
				Waiver:  gates.Waiver{Subject: "ghcr.io/acme/*", Gate: "signature", Reason: "migration", Approver: "alice", Ticket: "SEC-1", Expires: when.Add(24 * time.Hour)},
			}},
			PolicyDigest: "sha256:pp", EvidenceDigests: map[string]string{"sonarqube": "sha256:ee"}, Time: when,
		}},
		{Subject: mdl, Decision: &gates.Decision{
			Subject: mdl, Environment: "prod", Allowed: true, Gates: []string{"model_scan"},
			Violations: []gates.Finding{}, Warnings: []gates.Finding{{Gate: "model_scan", Rule: "finding", Severity: "low", Message: "torchscript code", Location: "models/fraud.pt:archive/code/x.py@10"}},
			PolicyDigest: "sha256:pp", Time: when,
		}},
		{Subject: ds, Err: errors.New("evidence unreachable")},
	}
}

func TestJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["schema"] != Schema || doc["allowed"] != false {
		t.Fatalf("top level: %v %v", doc["schema"], doc["allowed"])
	}
	results := doc["results"].([]any)
	var got []string
	for _, r := range results {
		m := r.(map[string]any)
		for _, k := range []string{"subject", "allowed", "violations", "warnings", "waivers"} {
			if _, ok := m[k]; !ok {
				t.Errorf("result lacks %q: %v", k, m)
			}
		}
		got = append(got, m["subject"].(map[string]any)["ref"].(string)+"="+map[bool]string{true: "allowed", false: "denied"}[m["allowed"].(bool)])
	}
	if diff := cmp.Diff([]string{"ghcr.io/acme/api:1=denied", "models/fraud.pt=allowed", "data/x.csv=denied"}, got); diff != "" {
		t.Error(diff)
	}
	v := results[0].(map[string]any)["violations"].([]any)[0].(map[string]any)
	for _, k := range []string{"gate", "rule", "severity", "message"} {
		if v[k] == "" || v[k] == nil {
			t.Errorf("violation lacks %s: %v", k, v)
		}
	}
	if e := results[2].(map[string]any)["error"]; e != "evidence unreachable" {
		t.Errorf("undecided error = %v", e)
	}
}

func TestSARIF(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %s runs %d", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	// 1 violation + 1 warning (image), 1 warning (model), 1 undecided.
	if len(run.Results) != 4 {
		t.Fatalf("%d results, want 4", len(run.Results))
	}
	for _, r := range run.Results {
		if r.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s points at rule %d", r.RuleID, r.RuleIndex)
		}
		if len(r.Locations) != 1 || r.Locations[0].PhysicalLocation.ArtifactLocation["uri"] == "" {
			t.Errorf("result %s has no location (GitHub rejects those)", r.RuleID)
		}
		if r.Level != "error" && r.Level != "warning" && r.Level != "note" {
			t.Errorf("level %q", r.Level)
		}
	}
	for _, rule := range run.Tool.Driver.Rules {
		if rule.Help.Text == "" {
			t.Errorf("rule %s has no help", rule.ID)
		}
	}
	locs := map[string]string{}
	for _, r := range run.Results {
		locs[r.RuleID] = r.Locations[0].PhysicalLocation.ArtifactLocation["uri"]
	}
	want := map[string]string{
		"sonarqube/quality_gate": SARIFLocation, "signature/old": SARIFLocation,
		"model_scan/finding": "models/fraud.pt", "gatehouse/undecided": "data/x.csv",
	}
	if diff := cmp.Diff(want, locs); diff != "" {
		t.Errorf("locations (-want +got):\n%s", diff)
	}
}

func TestJUnit(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	// image: 2 gates, model: 1 gate, dataset: 1 errored case.
	if doc.Tests != 4 || doc.Failures != 1 || doc.Errors != 1 || len(doc.Suites) != 3 {
		t.Fatalf("tests=%d failures=%d errors=%d suites=%d", doc.Tests, doc.Failures, doc.Errors, len(doc.Suites))
	}
	var failed []string
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil {
				failed = append(failed, s.Name+"/"+c.Name)
			}
		}
	}
	if diff := cmp.Diff([]string{"image:ghcr.io/acme/api:1/sonarqube"}, failed); diff != "" {
		t.Error(diff)
	}
}

func TestText(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteText(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"✗ image:ghcr.io/acme/api:1: DENIED in prod",
		"[high] sonarqube/quality_gate: new_coverage 82.5 < 85",
		"fix: add tests",
		"waived signature/missing: unsigned (reason: migration; approved by alice; ticket SEC-1; expires 2026-11-27)",
		"✓ model:models/fraud.pt: allowed in prod",
		"NOT DECIDED (denied)",
		"3 subject(s), 1 allowed, 2 denied",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestGitHub(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteAnnotations(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		"::error title=gatehouse sonarqube/quality_gate (high)::image:ghcr.io/acme/api:1: new_coverage 82.5 < 85%0AFix: add tests",
		"::warning title=gatehouse signature/old (low)::image:ghcr.io/acme/api:1: signature is old, 100%25: renew",
		"::warning title=gatehouse model_scan/finding (low),file=models/fraud.pt,line=1::model:models/fraud.pt: torchscript code",
		"::error title=gatehouse%3A dataset%3Adata/x.csv not decided::evidence unreachable",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	buf.Reset()
	if err := WriteStepSummary(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## gatehouse: ❌ denied", "| `image:ghcr.io/acme/api:1` | prod | ❌ denied | 1 | 1 | 1 |", "🟡 waived"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestWriteUnknownFormat(t *testing.T) {
	if err := Write(&bytes.Buffer{}, "yaml", nil); err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Fatalf("err = %v", err)
	}
}
