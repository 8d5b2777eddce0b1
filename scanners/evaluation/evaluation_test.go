package evaluation

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse-dev/gatehouse/gates"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// approx compares metric values to 1e-12 and ignores Source/From (checked
// by their own tests).
var approx = cmp.Options{
	cmpopts.EquateApprox(0, 1e-12),
	cmpopts.IgnoreFields(Metric{}, "Source", "From"),
}

func TestParseSourceFixtures(t *testing.T) {
	// The wine ROC points have recall 47/53, 49/53, 51/53 where the false
	// positive rate moves off 0: the trapezoids are 0.0125·(47+49)/106,
	// 0.0625·(49+51)/106, 0.0125·(51+53)/106, and 1·0.9125 after fpr 0.0875.
	wineAUC := (0.0125*96+0.0625*100+0.0125*104)/106 + 0.9125
	// iris [[15,0,0],[0,12,3],[0,2,13]]: rows are the truth.
	pV, rV := 12.0/14, 12.0/15
	pG, rG := 13.0/16, 13.0/15
	f1 := func(p, r float64) float64 { return 2 * p * r / (p + r) }
	iris := []Metric{
		{Name: "f1", Value: 1, Slice: "overall", Class: "Setosa", Derived: true},
		{Name: "f1", Value: f1(pV, rV), Slice: "overall", Class: "Versicolour", Derived: true},
		{Name: "f1", Value: f1(pG, rG), Slice: "overall", Class: "Virginica", Derived: true},
		{Name: "f1_macro", Value: (1 + f1(pV, rV) + f1(pG, rG)) / 3, Slice: "overall", Derived: true},
		{Name: "precision", Value: 1, Slice: "overall", Class: "Setosa", Derived: true},
		{Name: "precision", Value: pV, Slice: "overall", Class: "Versicolour", Derived: true},
		{Name: "precision", Value: pG, Slice: "overall", Class: "Virginica", Derived: true},
		{Name: "precision_macro", Value: (1 + pV + pG) / 3, Slice: "overall", Derived: true},
		{Name: "recall", Value: 1, Slice: "overall", Class: "Setosa", Derived: true},
		{Name: "recall", Value: rV, Slice: "overall", Class: "Versicolour", Derived: true},
		{Name: "recall", Value: rG, Slice: "overall", Class: "Virginica", Derived: true},
		{Name: "recall_macro", Value: (1 + rV + rG) / 3, Slice: "overall", Derived: true},
	}
	for _, tt := range []struct {
		file, format string
		opts         Options
		want         []Metric
		skipped      int
	}{
		{"kfp/wine_roc_artifact.json", FormatKFPArtifact, Options{}, []Metric{{Name: "roc_auc", Value: wineAUC, Slice: "overall", Derived: true}}, 0},
		{"kfp/digits_metrics_artifact.json", FormatKFPArtifact, Options{Dataset: "digits", Split: "test"},
			[]Metric{{Name: "accuracy", Value: 92, Dataset: "digits", Split: "test", Slice: "overall"}}, 0},
		// the reported accuracy (92.0) overrides the one derived from the
		// confusion matrix (40/45); display_name is no metric: both listed
		{"kfp/executor_output.json", FormatKFPExecutorOutput, Options{},
			append([]Metric{{Name: "accuracy", Value: 92, Slice: "overall"}}, append(iris, Metric{Name: "roc_auc", Value: wineAUC, Slice: "overall", Derived: true})...), 2},
		{"plain/metrics_list.json", FormatMetricsList, Options{Dataset: "ignored"}, []Metric{
			{Name: "accuracy", Value: 0.951, Dataset: "transactions-2024", Split: "holdout", Slice: "overall"},
			{Name: "recall", Value: 0.902, Dataset: "transactions-2025", Split: "test", Slice: "card-not-present"},
			{Name: "accuracy", Value: 0.934, Dataset: "transactions-2025", Split: "test", Slice: "overall"},
			{Name: "f1", Value: 0.871, Dataset: "transactions-2025", Split: "test", Slice: "overall"},
			{Name: "log_loss", Value: 0.212, Dataset: "transactions-2025", Split: "test", Slice: "overall"},
		}, 0},
		{"plain/metrics_map.json", FormatMetricsMap, Options{Dataset: "holdout"}, []Metric{
			{Name: "accuracy", Value: 0.91, Dataset: "holdout", Slice: "overall"},
			{Name: "f1", Value: 0.88, Dataset: "holdout", Slice: "overall"},
			{Name: "rmse", Value: 0.31, Dataset: "holdout", Slice: "overall"},
		}, 0},
		{"card/README.md", FormatModelIndex, Options{}, []Metric{
			{Name: "accuracy", Value: 0.971, Dataset: "example/transactions-2025", Split: "test", Slice: "overall"},
			{Name: "f1", Value: 0.88, Dataset: "example/transactions-2025", Split: "test", Slice: "overall"},
			{Name: "accuracy", Value: 0.965, Dataset: "example/transactions-2025:eu", Split: "validation", Slice: "overall"},
		}, 1},
	} {
		t.Run(tt.file, func(t *testing.T) {
			ev, format, err := ParseSource(tt.file, read(t, tt.file), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if format != tt.format {
				t.Errorf("format %q, want %q", format, tt.format)
			}
			if d := cmp.Diff(tt.want, ev.Metrics, approx); d != "" {
				t.Errorf("metrics (-want +got):\n%s", d)
			}
			if len(ev.Skipped) != tt.skipped {
				t.Errorf("skipped %d, want %d: %+v", len(ev.Skipped), tt.skipped, ev.Skipped)
			}
			for _, m := range ev.Metrics {
				if !strings.HasPrefix(m.Source, tt.file+": ") {
					t.Errorf("%s: source %q does not name the file", m.Key(), m.Source)
				}
				if m.Derived && m.From == "" {
					t.Errorf("%s: derived without From", m.Key())
				}
			}
		})
	}
}

func TestSkippedNamesWhy(t *testing.T) {
	ev, _, err := ParseSource("x.json", read(t, "kfp/executor_output.json"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	all := ""
	for _, s := range ev.Skipped {
		all += s.Source + " " + s.Reason + "\n"
	}
	for _, want := range []string{"display_name", "derived accuracy (slice overall) = 0.888", "reports 92"} {
		if !strings.Contains(all, want) {
			t.Errorf("skipped lacks %q:\n%s", want, all)
		}
	}
}

func TestAUC(t *testing.T) {
	for _, tt := range []struct {
		name string
		pts  []ROCPoint
		want float64
	}{
		{"perfect", []ROCPoint{{0, 1}, {0, 0.5}}, 1},
		{"diagonal", []ROCPoint{{0.25, 0.25}, {0.75, 0.75}}, 0.5},
		{"worst", []ROCPoint{{1, 0}, {0.5, 0}}, 0},
		{"one step", []ROCPoint{{0.5, 0.5}, {0.5, 1}}, 0.5*0.25 + 0.5},
		// the same points in reverse order: the area does not depend on the order given
		{"reversed", []ROCPoint{{0.5, 1}, {0.5, 0.5}}, 0.5*0.25 + 0.5},
	} {
		if got := AUC(tt.pts); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: AUC %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestConfusionEdgeCases(t *testing.T) {
	doc := func(rows string) []byte {
		return []byte(`{"type":"system.ClassificationMetrics","metadata":{"confusionMatrix":{"annotationSpecs":[{"displayName":"no"},{"displayName":"yes"}],"rows":` + rows + `}}}`)
	}
	// "yes" is never predicted: its precision is undefined, so are F1 and the macro means
	ev, _, err := ParseSource("cm.json", doc(`[{"row":[8,0]},{"row":[2,0]}]`), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, m := range ev.Metrics {
		got[m.Name+"/"+m.Class] = m.Value
	}
	want := map[string]float64{"accuracy/": 0.8, "precision/no": 0.8, "recall/no": 1, "f1/no": 2 * 0.8 / 1.8, "recall/yes": 0}
	if d := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if len(ev.Skipped) != 2 {
		t.Errorf("skipped %+v, want precision of yes and the macro means", ev.Skipped)
	}
	// an all-zero matrix derives nothing: no metrics at all is an error
	if _, _, err := ParseSource("cm.json", doc(`[{"row":[0,0]},{"row":[0,0]}]`), Options{}); !errors.Is(err, ErrNoMetrics) {
		t.Errorf("empty matrix: %v, want ErrNoMetrics", err)
	}
}

func TestSlicedClassificationMetrics(t *testing.T) {
	data := []byte(`{"type":{"schemaTitle":"system.SlicedClassificationMetrics"},"metadata":{"evaluationSlices":[
	 {"slice":"EU","sliceClassificationMetrics":{"confidenceMetrics":[{"confidenceThreshold":0.5,"recall":0.5,"falsePositiveRate":0.5},{"confidenceThreshold":0.9,"recall":0.25,"falsePositiveRate":0.25}]}},
	 {"slice":"US","sliceClassificationMetrics":{"auc":0.7}}]}}`)
	ev, _, err := ParseSource("s.json", data, Options{Dataset: "tx"})
	if err != nil {
		t.Fatal(err)
	}
	want := []Metric{
		{Name: "roc_auc", Value: 0.5, Dataset: "tx", Slice: "EU", Derived: true},
		{Name: "auc", Value: 0.7, Dataset: "tx", Slice: "US"},
	}
	if d := cmp.Diff(want, ev.Metrics, approx); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestParseErrorsNameFileAndField(t *testing.T) {
	deep := strings.Repeat("[", 40) + strings.Repeat("]", 40)
	many := `{"metadata":{"confidenceMetrics":[` + strings.Repeat(`{"recall":0.5,"falsePositiveRate":0.5},`, 10) + `{"recall":1,"falsePositiveRate":1}]}}`
	for _, tt := range []struct {
		name, data, want string
		lim              Limits
	}{
		{"empty", "  ", "f.json: empty file", Limits{}},
		{"text", "hello", "neither JSON nor a model card", Limits{}},
		{"bad json", `{"accuracy": }`, "f.json: not JSON", Limits{}},
		{"two values", `{"a":1} {"b":2}`, "more than one JSON value", Limits{}},
		{"deep", deep, "nests deeper than 32", Limits{}},
		{"map string", `{"accuracy": "0.9"}`, `f.json: "accuracy": want a number`, Limits{}},
		{"empty map", `{}`, "holds no metrics", Limits{}},
		{"list typo", `{"metrics":[{"name":"acc","vaule":0.9}]}`, `f.json: metrics[0]: unknown key "vaule"`, Limits{}},
		{"list no value", `{"metrics":[{"name":"acc"}]}`, "metrics[0]: no value", Limits{}},
		{"list no name", `{"metrics":[{"value":1}]}`, "metrics[0]: the metric has no name", Limits{}},
		{"list value type", `{"metrics":[{"name":"a","value":"1"}]}`, "metrics[0].value: want a number", Limits{}},
		{"list top key", `{"metrics":[],"model":"x"}`, `unknown key "model"`, Limits{}},
		{"cm rows", `{"metadata":{"confusionMatrix":{"annotationSpecs":[{"displayName":"a"},{"displayName":"b"}],"rows":[{"row":[1,2]}]}}}`, "metadata.confusionMatrix.rows: want 2 rows", Limits{}},
		{"cm negative", `{"metadata":{"confusionMatrix":{"annotationSpecs":[{"displayName":"a"},{"displayName":"b"}],"rows":[{"row":[1,2]},{"row":[-1,0]}]}}}`, "metadata.confusionMatrix.rows[1].row[0]: want a count", Limits{}},
		{"cm dup class", `{"metadata":{"confusionMatrix":{"annotationSpecs":[{"displayName":"a"},{"displayName":"a"}],"rows":[]}}}`, `class "a" named twice`, Limits{}},
		{"cm classes", `{"metadata":{"confusionMatrix":{"annotationSpecs":[{"displayName":"a"},{"displayName":"b"},{"displayName":"c"}],"rows":[]}}}`, "3 classes, more than the limit of 2", Limits{MaxClasses: 2}},
		{"roc range", `{"metadata":{"confidenceMetrics":[{"recall":1.5,"falsePositiveRate":0}]}}`, "metadata.confidenceMetrics[0]: falsePositiveRate and recall must be numbers in [0,1]", Limits{}},
		{"roc points", many, "11 points, more than the limit of 10", Limits{MaxROCPoints: 10}},
		{"executor artifacts", `{"artifacts":{"m":{"artifacts":{}}}}`, "f.json: artifacts.m.artifacts: want a list", Limits{}},
		{"executor params only", `{"parameterValues":{"acc":0.9}}`, "parameterValues are not read", Limits{}},
		{"artifact metadata", `[{"name":"m","metadata":[]}]`, "[0].metadata: want an object", Limits{}},
		{"sliced slice", `{"metadata":{"evaluationSlices":[{"sliceClassificationMetrics":{}}]}}`, "metadata.evaluationSlices[0].slice: want a slice name", Limits{}},
		{"long name", `{"` + strings.Repeat("a", 300) + `": 1}`, "more than the limit of 256", Limits{}},
		{"too many", `{"a":1,"b":2,"c":3}`, "more than 2 metrics", Limits{MaxMetrics: 2}},
		{"conflict", `{"metrics":[{"name":"acc","value":0.9},{"name":"ACC","value":0.8}]}`, "acc (slice overall) is 0.9 in f.json: metrics[0] but 0.8 in f.json: metrics[1]", Limits{}},
		{"error doc", `{"error":"boom"}`, "records a collection error", Limits{}},
		{"schema", `{"schema":"fairness/v1"}`, `schema fairness/v1, want "evaluation/v1"`, Limits{}},
		{"evidence unknown", `{"schema":"evaluation/v1","metrics":[],"extra":1}`, `unknown field "extra"`, Limits{}},
		{"card no close", "---\nmodel-index: []\n", "no closing --- line", Limits{}},
		{"card no index", "---\nlicense: mit\n---\n", "no model-index results", Limits{}},
		{"card bad index", "---\nmodel-index: {a: 1}\n---\n", "model-index: want a list", Limits{}},
		{"card metrics", "---\nmodel-index:\n- results:\n  - metrics: 3\n---\n", "model-index[0].results[0].metrics: want a list", Limits{}},
		{"card alias bomb", "---\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n---\n", "YAML nodes", Limits{}},
		{"card front matter size", "---\na: " + strings.Repeat("x", 2000) + "\n---\n", "larger than the limit of 1024", Limits{MaxFrontMatterBytes: 1024}},
		{"file size", `{"a":1}`, "more than the limit of 4", Limits{MaxFileBytes: 4}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParseSource("f.json", []byte(tt.data), Options{Limits: tt.lim})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestCollector(t *testing.T) {
	c, err := NewCollector(map[string]any{"dataset": "holdout"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	model := filepath.Join("testdata", "model-kfp", "model.safetensors")
	v, err := c.Collect(ctx, gates.Subject{Kind: gates.KindModel, Ref: model, Digest: "sha256:ab"})
	if err != nil {
		t.Fatal(err)
	}
	ev := v.(*Evidence)
	if ev.Subject == nil || ev.Subject.Path != model || ev.Subject.Digest != "sha256:ab" {
		t.Errorf("subject %+v, want the model", ev.Subject)
	}
	if len(ev.Sources) != 1 || ev.Sources[0].Format != FormatKFPExecutorOutput || len(ev.Sources[0].SHA256) != 64 {
		t.Errorf("sources %+v", ev.Sources)
	}
	for _, m := range ev.Metrics {
		if m.Dataset != "holdout" {
			t.Errorf("%s: dataset %q, want the params' holdout", m.Key(), m.Dataset)
		}
	}
	// no metrics file: the card's model-index
	v, err = c.Collect(ctx, gates.Subject{Kind: gates.KindModel, Ref: filepath.Join("testdata", "model-card")})
	if err != nil {
		t.Fatal(err)
	}
	if ev := v.(*Evidence); ev.Sources[0].Format != FormatModelIndex || len(ev.Metrics) != 3 {
		t.Errorf("card: %+v", ev)
	}
	// nothing: an error naming what to provide
	_, err = c.Collect(ctx, gates.Subject{Kind: gates.KindModel, Ref: filepath.Join("testdata", "model-empty")})
	if !errors.Is(err, ErrNoMetrics) || !strings.Contains(err.Error(), "metrics.json") || !strings.Contains(err.Error(), "--evidence evaluation=FILE") {
		t.Errorf("empty: %v", err)
	}
	if !c.Applies(gates.Subject{Kind: gates.KindModel}) || c.Applies(gates.Subject{Kind: gates.KindImage}) {
		t.Error("Applies: want models only")
	}
	if _, err := NewCollector(map[string]any{"split": 3}); err == nil || !strings.Contains(err.Error(), "params.evaluation.split") {
		t.Errorf("bad param: %v", err)
	}
}

func TestCollectorRefusesFIFOAndDevice(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "metrics.json"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &Collector{}
	_, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindModel, Ref: dir})
	if err == nil || !strings.Contains(err.Error(), "FIFO") {
		t.Errorf("FIFO: %v", err)
	}
	if _, err := Scan(context.Background(), []string{"/dev/zero"}, Options{}); err == nil || !strings.Contains(err.Error(), "device") {
		t.Errorf("/dev/zero: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Scan(ctx, []string{filepath.Join("testdata", "model-kfp")}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestParseEvidenceKeepsSubjectAndBaselineMovesIt(t *testing.T) {
	ev, err := Scan(context.Background(), []string{filepath.Join("testdata", "plain", "metrics_map.json")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev.Subject = &Subject{Path: "models/prod-v2"}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	c := &Collector{}
	v, err := c.ParseEvidence(data)
	if err != nil {
		t.Fatal(err)
	}
	got := v.(*Evidence)
	if got.Subject == nil || got.Subject.Path != "models/prod-v2" || got.Sources[0].Path != ev.Sources[0].Path {
		t.Errorf("evaluation: %+v", got)
	}
	if d := cmp.Diff(ev.Metrics, got.Metrics); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	bc := &BaselineCollector{}
	v, err = bc.ParseEvidence(data)
	if err != nil {
		t.Fatal(err)
	}
	base := v.(*Evidence)
	if base.Schema != BaselineSchema || base.Subject != nil || base.Model == nil || base.Model.Path != "models/prod-v2" {
		t.Errorf("baseline: schema %q subject %+v model %+v", base.Schema, base.Subject, base.Model)
	}
	// the engine reads top-level subject/path/digest to bind evidence: a
	// baseline must name none of them
	b, _ := json.Marshal(base)
	var top map[string]any
	_ = json.Unmarshal(b, &top)
	for _, k := range []string{"subject", "path", "digest"} {
		if _, ok := top[k]; ok {
			t.Errorf("baseline names %q at the top level: it would bind to the production model", k)
		}
	}
	// a baseline is refused as evaluation evidence
	if _, err := c.ParseEvidence(b); err == nil || !strings.Contains(err.Error(), "evaluation_baseline=FILE") {
		t.Errorf("baseline as evaluation: %v", err)
	}
	// a raw source is a baseline too
	v, err = bc.ParseEvidence(read(t, "kfp/digits_metrics_artifact.json"))
	if err != nil || v.(*Evidence).Metrics[0].Value != 92 {
		t.Errorf("raw baseline: %v %+v", err, v)
	}
	if _, err := bc.Collect(context.Background(), gates.Subject{}); err == nil || bc.Applies(gates.Subject{Kind: gates.KindModel}) {
		t.Error("the baseline collector must never collect")
	}
}

func TestScanSourcesThatDisagree(t *testing.T) {
	other := filepath.Join(t.TempDir(), "metrics.json")
	if err := os.WriteFile(other, []byte(`{"accuracy": 0.5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	mapFile := filepath.Join("testdata", "plain", "metrics_map.json")
	_, err := Scan(context.Background(), []string{mapFile, other}, Options{})
	if err == nil || !strings.Contains(err.Error(), "accuracy (slice overall) is 0.91 in "+mapFile+": accuracy but 0.5 in "+other+": accuracy") {
		t.Fatalf("error %v, want both sources named", err)
	}
	// the same file twice agrees with itself: read once per source, metrics kept once
	ev, err := Scan(context.Background(), []string{mapFile, mapFile}, Options{})
	if err != nil || len(ev.Sources) != 2 || len(ev.Metrics) != 3 {
		t.Fatalf("same file twice: %v %+v", err, ev)
	}
}

func TestCollectorRemoteModelSaysWhatToDo(t *testing.T) {
	_, err := (&Collector{}).Collect(context.Background(), gates.Subject{Kind: gates.KindModel, Ref: "oci://registry.example/models/fraud:v4"})
	if err == nil || !strings.Contains(err.Error(), "--evidence evaluation=FILE") {
		t.Fatalf("error %v, want the --evidence hint", err)
	}
}
