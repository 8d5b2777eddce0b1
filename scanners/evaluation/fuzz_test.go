package evaluation

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// check holds for any evidence ParseSource returns: finite values, every
// metric named with a slice, within the limits.
func check(t *testing.T, ev *Evidence) {
	lim := DefaultLimits()
	if len(ev.Metrics) == 0 || len(ev.Metrics) > lim.MaxMetrics {
		t.Fatalf("%d metrics", len(ev.Metrics))
	}
	for _, m := range ev.Metrics {
		if m.Name == "" || m.Slice == "" || math.IsNaN(m.Value) || math.IsInf(m.Value, 0) || len(m.Name) > lim.MaxNameBytes {
			t.Fatalf("bad metric %+v", m)
		}
		if m.Name == "roc_auc" && m.Derived && (m.Value < 0 || m.Value > 1) {
			t.Fatalf("roc_auc %v outside [0,1]", m.Value)
		}
	}
}

func seed(f *testing.F, files ...string) {
	for _, n := range files {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func fuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, _, err := ParseSource("fuzz", data, Options{})
		if err == nil {
			check(t, ev)
		}
	})
}

// FuzzKFP: executor outputs and runtime artifacts.
func FuzzKFP(f *testing.F) {
	seed(f, "kfp/executor_output.json", "kfp/wine_roc_artifact.json", "kfp/digits_metrics_artifact.json")
	f.Add([]byte(`{"metadata":{"evaluationSlices":[{"slice":"a","sliceClassificationMetrics":{"confusionMatrix":{"annotationSpecs":[{"displayName":"x"},{"displayName":"y"}],"rows":[{"row":[1,2]},{"row":[3,4]}]}}}]}}`))
	f.Add([]byte(`[{"type":"system.Model","metadata":{}}]`))
	fuzzParse(f)
}

// FuzzPlain: the plain metrics list and map.
func FuzzPlain(f *testing.F) {
	seed(f, "plain/metrics_list.json", "plain/metrics_map.json")
	f.Add([]byte(`{"metrics":[{"name":"a","value":1e308},{"name":"a","value":1e308}]}`))
	fuzzParse(f)
}

// FuzzCard: model card front matter with model-index.
func FuzzCard(f *testing.F) {
	seed(f, "card/README.md")
	f.Add([]byte("---\nmodel-index:\n- results:\n  - metrics:\n    - {type: acc, value: .nan}\n---\n"))
	fuzzParse(f)
}

// FuzzEvidence: evaluation/v1 documents given with --evidence, read as
// evaluation and as baseline evidence.
func FuzzEvidence(f *testing.F) {
	f.Add([]byte(`{"schema":"evaluation/v1","subject":{"path":"m"},"sources":[],"metrics":[{"name":"accuracy","value":0.9,"slice":"overall","source":"x"}]}`))
	f.Add([]byte(`{"schema":"evaluation_baseline/v1","model":{"path":"m"},"sources":[],"metrics":[{"name":"f1","value":0.8,"slice":"","source":"x","derived":true}]}`))
	f.Add(remoteEval(remoteEvalOCI)) // a remote model's evidence, "remote" kept
	f.Add(remoteEval(`{"source":{"kind":"gcs","ref":"gs://b/m/"},"origins":[{"path":"metrics.json","bucket":"b","object":"m/metrics.json","generation":1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, err := (&Collector{}).ParseEvidence(data); err == nil {
			check(t, v.(*Evidence))
		}
		if v, err := (&BaselineCollector{}).ParseEvidence(data); err == nil {
			ev := v.(*Evidence)
			check(t, ev)
			if ev.Subject != nil || ev.Schema != BaselineSchema {
				t.Fatalf("baseline names a subject or has schema %q", ev.Schema)
			}
		}
	})
}
