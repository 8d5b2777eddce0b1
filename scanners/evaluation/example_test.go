package evaluation_test

import (
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/scanners/evaluation"
)

// A KFP ClassificationMetrics artifact holding a ROC curve (the points of
// the KFP metrics-visualization sample) and a plain metrics list, merged
// into one evaluation/v1 document.
func ExampleScan() {
	ev, err := evaluation.Scan(context.Background(), []string{
		"testdata/kfp/wine_roc_artifact.json",
		"testdata/plain/metrics_map.json",
	}, evaluation.Options{Dataset: "wine-holdout", Split: "test"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range ev.Sources {
		fmt.Println("source:", s.Path, s.Format)
	}
	for _, m := range ev.Metrics {
		fmt.Printf("%s = %.4f on %s/%s/%s derived=%v\n", m.Name, m.Value, m.Dataset, m.Split, m.Slice, m.Derived)
	}
	// Output:
	// source: testdata/kfp/wine_roc_artifact.json kfp-artifact
	// source: testdata/plain/metrics_map.json metrics-map
	// accuracy = 0.9100 on wine-holdout/test/overall derived=false
	// f1 = 0.8800 on wine-holdout/test/overall derived=false
	// rmse = 0.3100 on wine-holdout/test/overall derived=false
	// roc_auc = 0.9950 on wine-holdout/test/overall derived=true
}
