package fairness

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// FuzzScan feeds arbitrary CSV and JSON Lines to the scanner: it must
// return evidence or an error, never panic, and evidence must be
// consistent (counts add up, rates in [0,1], intervals ordered).
func FuzzScan(f *testing.F) {
	f.Add("y,yhat,s,g,h\n1,1,0.9,A,x\n0,1,0.2,B,y\n1,0,0.5,B,\n", false)
	f.Add("y,yhat,s,g,h\n\"1\",1,1,\"A,B\",\"x\ny\"\n0,0,0,A,x\n", false)
	f.Add("y\tyhat\ts\tg\th\n1\t1\t0.1\tA\tx\n", false)
	f.Add(`{"y":1,"yhat":0,"s":0.3,"g":"A","h":"x"}`+"\n"+`{"y":0,"yhat":0,"s":1,"g":null,"h":true}`+"\n", true)
	f.Add(`{"y":true,"yhat":1,"s":"0.5","g":{"a":1}}`+"\n", true)
	f.Add("", false)
	f.Add("y,yhat,s,g,h\n2,1,0.5,A,x\n1,1,0.5,A,x\n0,1,0.5,A,x\n", false)
	f.Fuzz(func(t *testing.T, data string, jsonl bool) {
		format := "csv"
		if jsonl {
			format = "jsonl"
		}
		o := Options{Label: "y", Prediction: "yhat", Score: "s", Groups: []string{"g", "h"}, MinGroupSize: 2,
			Limits: Limits{MaxRecordBytes: 4096, MaxGroupValues: 50, MaxCells: 100}}
		ev, err := ScanReader(context.Background(), strings.NewReader(data), format, o)
		if err != nil {
			if !errors.Is(err, ErrInput) && !errors.Is(err, ErrLimit) {
				t.Fatalf("error neither ErrInput nor ErrLimit: %v", err)
			}
			return
		}
		if _, err := json.Marshal(ev); err != nil {
			t.Fatalf("evidence does not marshal: %v", err)
		}
		for _, g := range ev.Groupings {
			var total int64
			for _, gr := range g.Groups {
				total += gr.Count
				if gr.TP+gr.FP+gr.TN+gr.FN != gr.Count {
					t.Fatalf("group %q counts do not add up", gr.Name)
				}
				for _, r := range []*Rate{gr.BaseRate, gr.SelectionRate, gr.TPR, gr.FPR, gr.FNR, gr.Precision, gr.Accuracy} {
					if r != nil && !(r.CI[0] <= r.Value && r.Value <= r.CI[1] && r.CI[0] >= 0 && r.CI[1] <= 1) {
						t.Fatalf("rate %+v out of order", r)
					}
				}
			}
			if total != ev.Rows {
				t.Fatalf("grouping %q has %d rows, evidence %d", g.Name, total, ev.Rows)
			}
			for _, gp := range []Gap{g.Gaps.DemographicParityDifference, g.Gaps.DemographicParityRatio, g.Gaps.EqualOpportunityDifference, g.Gaps.EqualizedOddsDifference} {
				if gp.Value != nil && !(gp.CI[0] <= *gp.Value && *gp.Value <= gp.CI[1]) {
					t.Fatalf("%s %v outside its interval %v", gp.Metric, *gp.Value, *gp.CI)
				}
			}
		}
	})
}
