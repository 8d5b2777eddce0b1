package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// evalFixture copies a file of scanners/evaluation/testdata.
func evalFixture(t *testing.T, name, to string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "scanners", "evaluation", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestScanEvaluationExitCodes runs the binary: 0 when metrics are read,
// 2 for input it cannot read, with the file and field named.
func TestScanEvaluationExitCodes(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model")
	evalFixture(t, "kfp/executor_output.json", filepath.Join(model, "executor_output.json"))
	writeFile(t, filepath.Join(model, "model.safetensors"), "w")
	empty := filepath.Join(dir, "empty")
	writeFile(t, filepath.Join(empty, "model.safetensors"), "w")
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	hostile := writeFile(t, filepath.Join(dir, "hostile.json"), `{"acc\u001b[31m\nuracy": 0.9}`)
	bad := writeFile(t, filepath.Join(dir, "bad.json"), `{"metrics":[{"name":"accuracy","vaule":0.9}]}`)
	for _, tt := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"model folder", []string{"scan", "evaluation", model}, 0, "roc_auc"},
		{"card", []string{"scan", "evaluation", filepath.Join(repoAbs(t), "scanners/evaluation/testdata/card/README.md")}, 0, "example/transactions-2025:eu"},
		{"hostile name", []string{"scan", "evaluation", hostile}, 0, "acc"},
		{"no metrics", []string{"scan", "evaluation", empty}, exitUndecided, "metrics.json"},
		{"bad field", []string{"scan", "evaluation", bad}, exitUndecided, `bad.json: metrics[0]: unknown key "vaule"`},
		{"FIFO", []string{"scan", "evaluation", fifo}, exitUndecided, "FIFO"},
		{"/dev/zero", []string{"scan", "evaluation", "/dev/zero"}, exitUndecided, "device"},
		{"missing", []string{"scan", "evaluation", filepath.Join(dir, "nope.json")}, exitUndecided, "no such file"},
		{"bad format flag", []string{"scan", "evaluation", model, "--format", "xml"}, exitUndecided, "--format"},
		{"no path", []string{"scan", "evaluation"}, exitUndecided, "requires at least 1 arg"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runTimed(t, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stdout+r.stderr, tt.want) {
				t.Fatalf("exit %d (want %d), output:\n%s%s", r.code, tt.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stdout, "\x1b") || strings.Contains(r.stderr, "\x1b") {
				t.Errorf("an escape sequence from the file reached the output:\n%q", r.stdout)
			}
		})
	}
	// json: a model folder names itself; --model names another
	for _, tt := range []struct {
		args    []string
		subject string
	}{
		{[]string{"scan", "evaluation", model, "--format", "json", "--dataset", "wine"}, model},
		{[]string{"scan", "evaluation", filepath.Join(model, "executor_output.json"), "--format", "json", "--model", "models/m"}, "models/m"},
	} {
		r := runTimed(t, tt.args...)
		var ev struct {
			Schema  string
			Subject struct{ Path string }
			Sources []struct{ Format, SHA256 string }
			Metrics []struct {
				Name, Dataset string
				Value         float64
			}
		}
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &ev) != nil || ev.Schema != "evaluation/v1" || ev.Subject.Path != tt.subject ||
			len(ev.Sources) != 1 || ev.Sources[0].Format != "kfp-executor-output" || len(ev.Sources[0].SHA256) != 64 || len(ev.Metrics) != 14 {
			t.Fatalf("json: exit %d %+v\n%s", r.code, ev, r.stderr)
		}
	}
}

func repoAbs(t *testing.T) string {
	t.Helper()
	p, err := filepath.Abs(repo)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCheckEvaluationGate runs `check` with a configuration that
// requires the evaluation gate for models: allowed, denied on a
// threshold, denied on a regression against the production model's
// evaluation, and not decided when nothing can be read.
func TestCheckEvaluationGate(t *testing.T) {
	dir := t.TempDir()
	cand := filepath.Join(dir, "candidate")
	evalFixture(t, "kfp/executor_output.json", filepath.Join(cand, "executor_output.json"))
	writeFile(t, filepath.Join(cand, "model.safetensors"), "w")
	empty := filepath.Join(dir, "empty")
	writeFile(t, filepath.Join(empty, "model.safetensors"), "w")
	config := func(required string) string {
		return writeFile(t, filepath.Join(dir, "gatehouse-"+strings.NewReplacer(" ", "", ":", "", "{", "", "}", "", ",", "").Replace(required)+".yaml"), `default_environment: staging
params:
  evaluation:
    dataset: wine-holdout
    split: test
environments:
  staging:
    gates:
      model: [evaluation]
    params:
      evaluation:
        required: {`+required+`}
`)
	}
	pass := config("roc_auc: {min: 0.9}, f1_macro: {min: 0.85}")
	strict := config("roc_auc: {min: 0.999}")
	// the production model: better f1_macro, measured on the same data
	prodJSON := writeFile(t, filepath.Join(dir, "prod", "metrics.json"), `{"dataset": "wine-holdout", "split": "test", "metrics": [{"name": "roc_auc", "value": 0.99}, {"name": "f1_macro", "value": 0.95}]}`)
	otherData := writeFile(t, filepath.Join(dir, "prod2", "metrics.json"), `{"dataset": "wine-2019", "metrics": [{"name": "roc_auc", "value": 0.99}]}`)
	sameAsProd := writeFile(t, filepath.Join(dir, "prod3", "metrics.json"), `{"dataset": "wine-holdout", "split": "test", "metrics": [{"name": "roc_auc", "value": 0.995}, {"name": "f1_macro", "value": 0.885}]}`)
	badParam := writeFile(t, filepath.Join(dir, "badparam.yaml"), "default_environment: staging\nenvironments:\n  staging:\n    gates:\n      model: [evaluation]\n    params:\n      evaluation:\n        required: {accuracy: {minimum: 0.9}}\n")

	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		want   []string
		reject string
	}{
		{"allowed", []string{"check", "model:" + cand, "--config", pass}, 0, []string{"allowed in staging (gates: evaluation)"}, ""},
		{"baseline within margin", []string{"check", "model:" + cand, "--config", pass, "--evidence", "evaluation_baseline=" + sameAsProd}, 0, []string{"allowed"}, "regressed"},
		{"threshold", []string{"check", "model:" + cand, "--config", strict}, 1, []string{
			"evaluation/evaluation_threshold: roc_auc (dataset wine-holdout, split test, slice overall) is 0.995, below the minimum of 0.999 in staging (derived from confidenceMetrics (11 ROC points, trapezoid rule))",
		}, ""},
		{"regression", []string{"check", "model:" + cand, "--config", pass, "--evidence", "evaluation_baseline=" + prodJSON}, 1, []string{
			"evaluation/evaluation_regression: f1_macro (dataset wine-holdout, split test, slice overall) regressed: 0.8888, production 0.95: worse by 0.06123 (higher is better), more than the allowed 0.01 absolute",
		}, "roc_auc (dataset wine-holdout, split test, slice overall) regressed"},
		{"baseline on other data warns", []string{"check", "model:" + cand, "--config", pass, "--evidence", "evaluation_baseline=" + otherData}, 0, []string{
			"evaluation_baseline_unmatched", "roc_auc (dataset wine-2019, slice overall)",
		}, ""},
		{"nothing beside the model", []string{"check", "model:" + empty, "--config", pass}, exitUndecided, []string{"no evaluation metrics", "--evidence evaluation=FILE"}, ""},
		{"bad param", []string{"check", "model:" + cand, "--config", badParam}, exitUndecided, []string{"minimum"}, ""},
		{"baseline not JSON", []string{"check", "model:" + cand, "--config", pass, "--evidence", "evaluation_baseline=/dev/zero"}, exitUndecided, []string{"device"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := runTimed(t, tt.args...)
			out := r.stdout + r.stderr
			if r.code != tt.code {
				t.Fatalf("exit %d (want %d), output:\n%s", r.code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tt.reject != "" && strings.Contains(out, tt.reject) {
				t.Errorf("output has %q:\n%s", tt.reject, out)
			}
		})
	}

	// evidence scanned for another model does not count for this one
	other := filepath.Join(dir, "other.json")
	r := runTimed(t, "scan", "evaluation", filepath.Join(cand, "executor_output.json"), "--format", "json", "--model", filepath.Join(dir, "prod"))
	if r.code != 0 {
		t.Fatalf("scan: %d %s", r.code, r.stderr)
	}
	writeFile(t, other, r.stdout)
	r = runTimed(t, "check", "model:"+cand, "--config", pass, "--evidence", "evaluation="+other)
	if r.code != 1 || !strings.Contains(r.stdout, "evidence_subject") {
		t.Fatalf("evidence about another model: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// ... and the same document as the baseline is the production model's evaluation: compared
	r = runTimed(t, "check", "model:"+cand, "--config", pass, "--evidence", "evaluation_baseline="+other)
	if r.code != 0 || strings.Contains(r.stdout, "evidence_subject") {
		t.Fatalf("baseline naming the production model: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
