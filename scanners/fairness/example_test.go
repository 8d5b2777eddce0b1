package fairness_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/fairness"
)

var update = flag.Bool("update", false, "rewrite docs/fairness-selection-rates.svg from testdata/example_predictions.csv")

var exampleOptions = fairness.Options{
	Label: "approved", Prediction: "predicted", Score: "score",
	Groups: []string{"sex", "age_band"},
}

// The worked example of docs/fairness.md.
func ExampleScan() {
	ev, err := fairness.Scan(context.Background(), "testdata/example_predictions.csv", exampleOptions)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range ev.Groupings[:2] {
		r := g.Gaps.DemographicParityRatio
		e := g.Gaps.EqualizedOddsDifference
		fmt.Printf("%s: demographic parity ratio %.3f [%.3f, %.3f] (%s / %s), equalized odds difference %.3f [%.3f, %.3f]\n",
			g.Name, *r.Value, r.CI[0], r.CI[1], r.Min.Group, r.Max.Group, *e.Value, e.CI[0], e.CI[1])
	}
	// Output:
	// sex: demographic parity ratio 0.831 [0.784, 0.881] (female / male), equalized odds difference 0.106 [0.070, 0.143]
	// age_band: demographic parity ratio 0.651 [0.581, 0.730] (18-25 / 26-45), equalized odds difference 0.143 [0.079, 0.213]
}

// TestExampleChart keeps the chart in docs/fairness.md true to the
// scanner: it is drawn from the scan of the checked-in example file.
// Rewrite it with: go test ./scanners/fairness -run TestExampleChart -update
func TestExampleChart(t *testing.T) {
	ev, err := fairness.Scan(context.Background(), "testdata/example_predictions.csv", exampleOptions)
	if err != nil {
		t.Fatal(err)
	}
	svg := fairness.SelectionChart(ev, "sex", "age_band")
	path := filepath.Join("..", "..", "docs", "fairness-selection-rates.svg")
	if *update {
		if err := os.WriteFile(path, svg, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	have, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write it with -update)", err)
	}
	if !bytes.Equal(have, svg) {
		t.Errorf("%s is not the chart of the example's scan: run go test ./scanners/fairness -run TestExampleChart -update", path)
	}
}

func TestChartEscapes(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.csv")
	os.WriteFile(p, []byte("y,yhat,g\n1,1,<script>&\n0,0,ok\n"), 0o644)
	ev, err := fairness.Scan(context.Background(), p, fairness.Options{Label: "y", Prediction: "yhat", Groups: []string{"g"}, MinGroupSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	svg := fairness.SelectionChart(ev)
	if bytes.Contains(svg, []byte("<script>")) || !bytes.Contains(svg, []byte("&lt;script&gt;&amp;")) {
		t.Errorf("group name not escaped:\n%s", svg)
	}
}
