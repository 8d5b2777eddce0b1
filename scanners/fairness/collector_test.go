package fairness

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse-dev/gatehouse/gates"
)

func TestNewCollectorParams(t *testing.T) {
	c, err := NewCollector(map[string]any{
		"label": "truth", "prediction": "pred", "score": "p", "positive": "yes",
		"groups": []any{"sex"}, "required_groups": []any{"sex", "age"}, "min_group_size": 50,
		"thresholds": map[string]any{"demographic_parity_ratio": 0.8}, // the gate's: ignored here
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Label: "truth", Prediction: "pred", Score: "p", Positive: "yes", Groups: []string{"sex", "age"}, MinGroupSize: 50}
	if diff := cmp.Diff(want, c.Options); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
	d, err := NewCollector(nil)
	if err != nil || d.Options.Label != "label" || d.Options.Prediction != "prediction" {
		t.Errorf("defaults: %+v %v", d, err)
	}
	for _, bad := range []map[string]any{
		{"label": 3}, {"label": ""}, {"groups": "sex"}, {"groups": []any{""}}, {"required_groups": []any{1}},
		{"min_group_size": "30"}, {"min_group_size": 2.5}, {"missing": "drop"},
	} {
		if _, err := NewCollector(bad); err == nil {
			t.Errorf("params %v accepted", bad)
		}
	}
}

func TestCollector(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "model.onnx")
	os.WriteFile(model, []byte("weights"), 0o644)
	c := &Collector{Options: Options{Label: "label", Prediction: "prediction", Groups: []string{"sex"}}}
	if !c.Applies(gates.Subject{Kind: gates.KindModel}) || c.Applies(gates.Subject{Kind: gates.KindDataset}) {
		t.Error("Applies: models only")
	}
	_, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindModel, Ref: model})
	if !errors.Is(err, ErrNoPredictions) || !strings.Contains(err.Error(), "--evidence fairness=FILE") || !strings.Contains(err.Error(), "predictions.csv") {
		t.Errorf("no predictions: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "predictions.csv"), []byte("label,prediction,sex\n1,1,F\n0,1,M\n"), 0o644)
	for _, ref := range []string{model, dir} {
		v, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindModel, Ref: ref})
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		ev := v.(*Evidence)
		if ev.Rows != 2 || ev.Predictions.Path != filepath.Join(dir, "predictions.csv") || ev.Subject.Path != ref {
			t.Errorf("%s: predictions %+v subject %+v", ref, ev.Predictions, ev.Subject)
		}
	}
	os.WriteFile(filepath.Join(dir, "predictions.jsonl"), []byte("{}\n"), 0o644)
	if _, err := c.Collect(context.Background(), gates.Subject{Kind: gates.KindModel, Ref: dir}); err == nil || !strings.Contains(err.Error(), "several") {
		t.Errorf("two predictions files: %v", err)
	}
	none := &Collector{Options: Options{Label: "label", Prediction: "prediction"}}
	os.Remove(filepath.Join(dir, "predictions.jsonl"))
	if _, err := none.Collect(context.Background(), gates.Subject{Kind: gates.KindModel, Ref: dir}); err == nil || !strings.Contains(err.Error(), "required_groups") {
		t.Errorf("no groups: %v", err)
	}
}

func TestParseEvidence(t *testing.T) {
	ev := scanString(t, "csv", "y,yhat,g\n1,1,A\n0,0,B\n0,1,A\n", oneCol)
	ev.Subject = &Subject{Path: "models/m"}
	ev.Predictions = &Predictions{Path: "p.csv", SHA256: strings.Repeat("a", 64), Bytes: 10, Format: "csv"}
	data, _ := json.Marshal(ev)
	c := &Collector{}
	got, err := c.ParseEvidence(data)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := json.Marshal(got)
	if diff := cmp.Diff(string(data), string(back)); diff != "" {
		t.Errorf("round trip:\n%s", diff)
	}
	for name, bad := range map[string]string{
		"error doc":      `{"error":"boom"}`,
		"other schema":   `{"schema":"pii/v1"}`,
		"not json":       `label,prediction`,
		"unknown field":  strings.Replace(string(data), `"rows"`, `"rowz":1,"rows"`, 1),
		"no groupings":   `{"schema":"fairness/v1","settings":{},"rows":1,"groupings":[]}`,
		"two values":     string(data) + string(data),
		"no predictions": strings.Replace(string(data), `"predictions"`, `"predictionz"`, 1),
	} {
		if _, err := c.ParseEvidence([]byte(bad)); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
