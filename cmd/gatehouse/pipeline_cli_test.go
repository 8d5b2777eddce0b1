package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCheckPipeline: check pipeline:FILE judges the pipeline by the kfp
// gate and every image and imported dataset it names as a subject of its
// own, each reported with the components that use it. An unreadable
// pipeline is not decided.
func TestCheckPipeline(t *testing.T) {
	const file = "scanners/kfp/testdata/kfp_pipeline_with_importer.yaml"
	r := runTimed(t, "check", "--env", "dev", "--timeout", "20s", "pipeline:"+file)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (the kfp gate denies unpinned images)\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"✗ pipeline:" + file + ": DENIED in dev (gates: kfp)",
		"kfp/image_not_pinned: component comp-train runs python:3.11",
		"warning [medium] kfp/artifact_overridable: importer exec-importer-2 reads gs://ml-pipeline-playground/shakespeare2.txt",
		"? image:python:3.11: NOT DECIDED",
		"part of pipeline:" + file + " (components comp-train, comp-train-2)",
		"? dataset:gs://ml-pipeline-playground/shakespeare1.txt: NOT DECIDED",
		"part of pipeline:" + file + " (executors exec-importer)",
		"4 subject(s): 0 allowed, 1 denied, 3 not decided",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	j := runTimed(t, "check", "--env", "dev", "--timeout", "20s", "--format", "json", "pipeline:"+file)
	var doc struct {
		Verdict string `json:"verdict"`
		Results []struct {
			Subject struct {
				Kind, Ref string
				Labels    map[string]string
			} `json:"subject"`
			Verdict string `json:"verdict"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(j.stdout), &doc); err != nil {
		t.Fatalf("json: %v\n%s", err, j.stdout)
	}
	if doc.Verdict != "denied" || len(doc.Results) != 4 {
		t.Fatalf("verdict %q with %d results, want denied with 4", doc.Verdict, len(doc.Results))
	}
	for _, res := range doc.Results[1:] {
		if res.Subject.Labels["gatehouse.from"] != "pipeline:"+file || res.Subject.Labels["kfp.pipeline"] == "" {
			t.Errorf("%s:%s labels %v: want gatehouse.from and kfp.pipeline", res.Subject.Kind, res.Subject.Ref, res.Subject.Labels)
		}
	}

	bad := runTimed(t, "check", "--env", "dev", "pipeline:README.md")
	if bad.code != 2 || !strings.Contains(bad.stderr, "cannot read what pipeline:README.md brings in") {
		t.Errorf("unreadable pipeline: exit %d, stderr:\n%s", bad.code, bad.stderr)
	}
	if s := runTimed(t, "check", "--evidence", "kfp=README.md", "pipeline:"+file); s.code != 2 || !strings.Contains(s.stderr, "read from the pipeline file itself") {
		t.Errorf("--evidence kfp=FILE: exit %d, stderr:\n%s", s.code, s.stderr)
	}
}
