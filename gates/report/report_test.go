package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/gates"
)

var when = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// inRepo makes a temporary repository root (GITHUB_WORKSPACE) the working
// directory, with the model files the sample results name.
func inRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range []string{"models/fraud.pt", "models/m/weights/model.pkl", "score.yaml"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("GITHUB_WORKSPACE", root)
	t.Chdir(root)
	return root
}

func sampleResults() []Result {
	img := gates.Subject{Kind: gates.KindImage, Ref: "ghcr.io/acme/api:1", Digest: "sha256:aa"}
	mdl := gates.Subject{Kind: gates.KindModel, Ref: "models/fraud.pt"}
	ds := gates.Subject{Kind: gates.KindDataset, Ref: "data/x.csv"}
	dir := gates.Subject{Kind: gates.KindModel, Ref: "models/m"}
	sc := gates.Subject{Kind: gates.KindScore, Ref: "score.yaml"}
	return []Result{
		{Subject: img, Decision: &gates.Decision{
			Subject: img, Environment: "prod", Allowed: false, Gates: []string{"signature", "sonarqube"}, RequiredGates: []string{"signature", "sonarqube"},
			Violations: []gates.Finding{{Gate: "sonarqube", Rule: "quality_gate", Severity: "high", Message: "new_coverage 82.5 < 85", Remediation: "add tests"}},
			Warnings:   []gates.Finding{{Gate: "signature", Rule: "old", Severity: "low", Message: "signature is old, 100%: renew"}},
			Waived: []gates.AppliedWaiver{{
				Finding: gates.Finding{Gate: "signature", Rule: "missing", Severity: "high", Message: "unsigned"},
				Waiver:  gates.Waiver{Subject: "ghcr.io/acme/*", Gate: "signature", Reason: "migration", Approver: "alice", Ticket: "SEC-1", Expires: when.Add(24 * time.Hour)},
			}},
			PolicyDigest: "sha256:pp", ConfigDigest: "sha256:cc", EvidenceDigests: map[string]string{"sonarqube": "sha256:ee"}, Time: when,
		}},
		{Subject: mdl, Decision: &gates.Decision{
			Subject: mdl, Environment: "prod", Allowed: true, Gates: []string{"model_scan"}, RequiredGates: []string{"model_scan"},
			Violations: []gates.Finding{}, Warnings: []gates.Finding{{Gate: "model_scan", Rule: "finding", Severity: "low", Message: "torchscript code", Location: "fraud.pt:archive/code/x.py@10"}},
			PolicyDigest: "sha256:pp", ConfigDigest: "sha256:cc", Time: when,
		}},
		{Subject: ds, Err: errors.New("evidence unreachable")},
		// Collected evidence timed out: a decision with reasons not to decide.
		{Subject: dir, Decision: &gates.Decision{
			Subject: dir, Environment: "prod", Allowed: false, Gates: []string{"model_scan"}, RequiredGates: []string{"model_scan"},
			Undecided:    []string{"model_scan: collector timed out after 5m0s"},
			Violations:   []gates.Finding{{Gate: "model_scan", Rule: "not_verified", Severity: "high", Message: "could not verify weights/model.pkl@3: truncated", Location: "weights/model.pkl"}},
			PolicyDigest: "sha256:pp", ConfigDigest: "sha256:cc", Time: when,
		}},
		// A run narrowed with --gate: allowed, but partial.
		{Subject: sc, Decision: &gates.Decision{
			Subject: sc, Environment: "prod", Allowed: true, Gates: []string{"score"}, RequiredGates: []string{"score", "netpol"}, Partial: true,
			Violations: []gates.Finding{}, Warnings: []gates.Finding{}, PolicyDigest: "sha256:pp", ConfigDigest: "sha256:cc", Time: when,
		}},
	}
}

func decided(allowed bool, violations ...gates.Finding) Result {
	s := gates.Subject{Kind: gates.KindImage, Ref: "x"}
	return Result{Subject: s, Decision: &gates.Decision{Subject: s, Allowed: allowed, Violations: violations}}
}

func TestVerdictAndExitCode(t *testing.T) {
	allowed := decided(true)
	denied := decided(false, gates.Finding{Gate: "g", Rule: "bad"})
	missing := decided(false, gates.Finding{Gate: "g", Rule: "evidence_missing"})
	noDecision := Result{Subject: allowed.Subject, Err: errors.New("boom")}
	undecided := decided(true)
	undecided.Decision.Undecided = []string{"sonarqube: connection refused"}
	errAfter := decided(true) // decided, but something after (attesting) failed
	errAfter.Err = errors.New("attest: no key")
	both := decided(false, gates.Finding{Gate: "g", Rule: "evidence_error"}, gates.Finding{Gate: "h", Rule: "bad"})
	both.Decision.Undecided = []string{"timeout"}
	tests := []struct {
		name    string
		results []Result
		verdict string
		code    int
	}{
		{"none", nil, gates.VerdictNotDecided, 2},
		{"all allowed", []Result{allowed, allowed}, gates.VerdictAllowed, 0},
		{"one denied", []Result{allowed, denied}, gates.VerdictDenied, 1},
		{"no decision", []Result{allowed, noDecision}, gates.VerdictNotDecided, 2},
		{"undecided reasons", []Result{undecided}, gates.VerdictNotDecided, 2},
		{"only evidence-missing violations", []Result{missing}, gates.VerdictNotDecided, 2},
		{"error after a decision", []Result{errAfter}, gates.VerdictNotDecided, 2},
		{"denial beats not decided", []Result{noDecision, denied, undecided}, gates.VerdictDenied, 1},
		{"finding beats could-not-verify in one decision", []Result{both}, gates.VerdictDenied, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Verdict(tt.results); got != tt.verdict {
				t.Errorf("Verdict = %q, want %q", got, tt.verdict)
			}
			if got := ExitCode(tt.results); got != tt.code {
				t.Errorf("ExitCode = %d, want %d", got, tt.code)
			}
			if got, want := AllAllowed(tt.results), tt.code == 0; got != want {
				t.Errorf("AllAllowed = %v, want %v", got, want)
			}
		})
	}
}

func TestPartial(t *testing.T) {
	r := sampleResults()[4]
	if !r.Partial() || !Partial(sampleResults()) {
		t.Fatal("partial decision not reported as partial")
	}
	if diff := cmp.Diff([]string{"netpol"}, r.MissingGates()); diff != "" {
		t.Error(diff)
	}
	// Gates that do not cover RequiredGates are partial even if the flag is unset.
	r.Decision.Partial = false
	if !r.Partial() {
		t.Error("missing required gate not seen without the Partial flag")
	}
	if sampleResults()[0].Partial() || Partial(sampleResults()[:1]) {
		t.Error("full run reported partial")
	}
}

func TestJSON(t *testing.T) {
	inRepo(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["schema"] != Schema || doc["allowed"] != false || doc["verdict"] != "denied" || doc["partial"] != true {
		t.Fatalf("top level: %v %v %v %v", doc["schema"], doc["allowed"], doc["verdict"], doc["partial"])
	}
	results := doc["results"].([]any)
	var got []string
	for _, r := range results {
		m := r.(map[string]any)
		for _, k := range []string{"subject", "verdict", "allowed", "partial", "gates", "required_gates", "missing_gates", "undecided", "violations", "warnings", "waivers"} {
			if _, ok := m[k]; !ok {
				t.Errorf("result lacks %q: %v", k, m)
			}
		}
		got = append(got, m["subject"].(map[string]any)["ref"].(string)+"="+m["verdict"].(string))
	}
	want := []string{"ghcr.io/acme/api:1=denied", "models/fraud.pt=allowed", "data/x.csv=not decided", "models/m=not decided", "score.yaml=allowed"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	v := results[0].(map[string]any)["violations"].([]any)[0].(map[string]any)
	for _, k := range []string{"gate", "rule", "severity", "message"} {
		if v[k] == "" || v[k] == nil {
			t.Errorf("violation lacks %s: %v", k, v)
		}
	}
	if r := results[0].(map[string]any); r["config_digest"] != "sha256:cc" || r["policy_digest"] != "sha256:pp" {
		t.Errorf("digests: %v %v", r["config_digest"], r["policy_digest"])
	}
	ds := results[2].(map[string]any)
	if ds["error"] != "evidence unreachable" || !cmp.Equal(ds["undecided"], []any{"evidence unreachable"}) {
		t.Errorf("no decision: error %v undecided %v", ds["error"], ds["undecided"])
	}
	if u := results[3].(map[string]any)["undecided"]; !cmp.Equal(u, []any{"model_scan: collector timed out after 5m0s"}) {
		t.Errorf("undecided reasons = %v", u)
	}
	sc := results[4].(map[string]any)
	if sc["partial"] != true || !cmp.Equal(sc["required_gates"], []any{"score", "netpol"}) || !cmp.Equal(sc["missing_gates"], []any{"netpol"}) {
		t.Errorf("partial: %v %v %v", sc["partial"], sc["required_gates"], sc["missing_gates"])
	}
}

func TestSARIF(t *testing.T) {
	root := inRepo(t)
	old := Version
	Version = "v1.2.3"
	t.Cleanup(func() { Version = old })
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	checkSARIFShape(t, buf.Bytes())
	var log sarifLog
	if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || len(log.Runs) != 1 {
		t.Fatalf("version %s runs %d", log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	if run.Tool.Driver.Version != "v1.2.3" {
		t.Errorf("driver version %q", run.Tool.Driver.Version)
	}
	if got := run.OriginalURIBaseIDs[srcRoot].URI; got != "file://"+filepath.ToSlash(canonical(root))+"/" {
		t.Errorf("%%SRCROOT%% = %q", got)
	}
	if inv := run.Invocations; len(inv) != 1 || inv[0].ExecutionSuccessful || len(inv[0].ToolExecutionNotifications) != 3 {
		t.Errorf("invocations = %+v, want one, not successful, 2 not-decided and 1 partial notification", inv)
	}
	for _, r := range run.Results {
		if r.RuleIndex >= len(run.Tool.Driver.Rules) || run.Tool.Driver.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s points at rule %d", r.RuleID, r.RuleIndex)
		}
	}
	for _, rule := range run.Tool.Driver.Rules {
		if rule.Help.Text == "" {
			t.Errorf("rule %s has no help", rule.ID)
		}
	}
	type row struct{ Rule, Level, URI, Base, Suppressed string }
	var got []row
	for _, r := range run.Results {
		x := row{Rule: r.RuleID, Level: r.Level, URI: r.Locations[0].PhysicalLocation.ArtifactLocation.URI, Base: r.Locations[0].PhysicalLocation.ArtifactLocation.URIBaseID}
		for _, s := range r.Suppressions {
			x.Suppressed = s.Kind + "/" + s.Status + "/" + s.Justification
		}
		got = append(got, x)
	}
	want := []row{
		{"gatehouse/not_decided", "error", "data/x.csv", srcRoot, ""},
		{"gatehouse/not_decided", "error", "models/m", srcRoot, ""},
		{"gatehouse/partial_run", "warning", "score.yaml", srcRoot, ""},
		{"model_scan/finding", "warning", "models/fraud.pt", srcRoot, ""},
		{"model_scan/not_verified", "error", "models/m/weights/model.pkl", srcRoot, ""},
		{"signature/old", "warning", SARIFLocation, srcRoot, ""},
		{"signature/missing", "error", SARIFLocation, srcRoot, "external/accepted/migration"},
		{"sonarqube/quality_gate", "error", SARIFLocation, srcRoot, ""},
	}
	less := func(a, b row) bool { return a.Rule+a.URI < b.Rule+b.URI }
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(less)); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
}

func TestSARIFLocations(t *testing.T) {
	root := inRepo(t)
	outside := filepath.Join(t.TempDir(), "elsewhere.pt")
	mdl := gates.Subject{Kind: gates.KindModel, Ref: "models/fraud.pt"}
	dir := gates.Subject{Kind: gates.KindModel, Ref: "models/m"}
	img := gates.Subject{Kind: gates.KindImage, Ref: "ghcr.io/a/b:1"}
	tests := []struct {
		loc     string
		subject gates.Subject
		uri     string
		line    int
		ok      bool
	}{
		{"fraud.pt:archive/data.pkl@12", mdl, "models/fraud.pt", 1, true},
		{"models/fraud.pt:archive/data.pkl@12", mdl, "models/fraud.pt", 1, true},
		{"fraud.pt@7", mdl, "models/fraud.pt", 1, true},
		{"", mdl, "models/fraud.pt", 1, true},
		{"weights/model.pkl@3", dir, "models/m/weights/model.pkl", 1, true},
		{"weights/model.pkl:inner.pkl@3", dir, "models/m/weights/model.pkl", 1, true},
		{"models/m/README.md", dir, "models/m/README.md", 1, true},
		{"src/app.go:42", img, "src/app.go", 42, true},
		{filepath.Join(root, "score.yaml"), img, "score.yaml", 1, true},
		{"", img, "", 1, false},
		{outside, mdl, "", 1, false},
		{"../../etc/passwd", img, "", 1, false},
	}
	pl := newPlaces()
	for _, tt := range tests {
		uri, line, ok := pl.file(tt.loc, tt.subject)
		if uri != tt.uri || line != tt.line || ok != tt.ok {
			t.Errorf("file(%q, %s) = %q, %d, %v; want %q, %d, %v", tt.loc, tt.subject, uri, line, ok, tt.uri, tt.line, tt.ok)
		}
	}
	// From a folder below the root, paths are still relative to the root.
	t.Chdir(filepath.Join(root, "models"))
	if uri, _, ok := newPlaces().file("", gates.Subject{Kind: gates.KindModel, Ref: "fraud.pt"}); uri != "models/fraud.pt" || !ok {
		t.Errorf("from models/: %q %v", uri, ok)
	}
	// Without GITHUB_WORKSPACE the root is the folder holding .git.
	t.Setenv("GITHUB_WORKSPACE", "")
	if err := os.Mkdir(filepath.Join(root, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := RepoRoot(); canonical(got) != canonical(root) {
		t.Errorf("RepoRoot = %q, want %q", got, root)
	}
	if got := uriRef("a b/c#d?.pt"); got != "a%20b/c%23d%3F.pt" {
		t.Errorf("uriRef = %q", got)
	}
}

func TestJUnit(t *testing.T) {
	inRepo(t)
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	// image: 2 gates; model: 1; dataset: 1 errored decision; models/m:
	// errored decision + model_scan gate errored (not_verified only);
	// score: 1 gate + 1 skipped required gate.
	if doc.Tests != 8 || doc.Failures != 1 || doc.Errors != 3 || doc.Skipped != 1 || len(doc.Suites) != 5 {
		t.Fatalf("tests=%d failures=%d errors=%d skipped=%d suites=%d", doc.Tests, doc.Failures, doc.Errors, doc.Skipped, len(doc.Suites))
	}
	var outcome []string
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			switch {
			case c.Failure != nil:
				outcome = append(outcome, s.Name+"/"+c.Name+"=failure")
			case c.Error != nil:
				outcome = append(outcome, s.Name+"/"+c.Name+"=error:"+c.Error.Type)
			case c.Skipped != nil:
				outcome = append(outcome, s.Name+"/"+c.Name+"=skipped")
			}
		}
	}
	want := []string{
		"image:ghcr.io/acme/api:1/sonarqube=failure",
		"dataset:data/x.csv/decision=error:not_decided",
		"model:models/m/decision=error:not_decided",
		"model:models/m/model_scan=error:not_decided",
		"score:score.yaml/netpol=skipped",
	}
	if diff := cmp.Diff(want, outcome); diff != "" {
		t.Error(diff)
	}
	if p := doc.Suites[2].Properties; len(p) == 0 || p[0] != (junitProperty{Name: "verdict", Value: "not decided"}) {
		t.Errorf("dataset suite properties = %v", p)
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
		"? dataset:data/x.csv: NOT DECIDED, so not allowed",
		"    not decided: evidence unreachable\n",
		"? model:models/m: NOT DECIDED in prod, so not allowed",
		"    not decided: model_scan: collector timed out after 5m0s\n",
		"✓ score:score.yaml: allowed in prod (gates: score)\n    partial run: required gates not run: netpol",
		"5 subject(s): 2 allowed, 1 denied, 2 not decided\n",
		"partial run: 1 subject(s) not checked by every gate",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
}

func TestGitHub(t *testing.T) {
	inRepo(t)
	var buf bytes.Buffer
	if err := WriteAnnotations(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		"::error title=gatehouse sonarqube/quality_gate (high)::image:ghcr.io/acme/api:1: new_coverage 82.5 < 85%0AFix: add tests",
		"::warning title=gatehouse signature/old (low)::image:ghcr.io/acme/api:1: signature is old, 100%25: renew",
		"::warning title=gatehouse model_scan/finding (low),file=models/fraud.pt,line=1::model:models/fraud.pt: torchscript code",
		"::error title=gatehouse%3A dataset%3Adata/x.csv not decided,file=data/x.csv::dataset:data/x.csv not decided, so not allowed: evidence unreachable",
		"::error title=gatehouse%3A model%3Amodels/m not decided,file=models/m::model:models/m not decided, so not allowed: model_scan: collector timed out after 5m0s",
		"::error title=gatehouse model_scan/not_verified (high),file=models/m/weights/model.pkl,line=1::model:models/m: could not verify weights/model.pkl@3: truncated",
		"::warning title=gatehouse%3A score%3Ascore.yaml partial run,file=score.yaml::score:score.yaml: partial run, required gates not run: netpol (the verdict covers only score and is not attested)",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	buf.Reset()
	if err := WriteStepSummary(&buf, sampleResults()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"## gatehouse: ❌ denied",
		"Partial run",
		"| image\\:ghcr.io/acme/api\\:1 | prod | ❌ denied | no | 1 | 1 | 1 |",
		"| dataset\\:data/x.csv | | ⛔ not decided |",
		"| score\\:score.yaml | prod | ✅ allowed | ⚠️ yes | 0 | 0 | 0 |",
		"- ⛔ not decided, so not allowed: evidence unreachable",
		"- ⚠️ partial run: required gates not run: netpol",
		"🟡 waived",
	} {
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
