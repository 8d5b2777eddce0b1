package evaluation

import (
	"fmt"
	"math"
	"sort"
)

// Confusion is a confusion matrix: Counts[i][j] is the number of examples
// of true class Classes[i] predicted as Classes[j] (rows are the truth,
// columns the prediction, as in scikit-learn and the KFP UI).
type Confusion struct {
	Classes []string
	Counts  [][]float64
}

// Derived metrics of a confusion matrix: accuracy over all examples; per
// class precision, recall and F1; and their unweighted (macro) means.
// A rate whose denominator is zero is not computed: it is reported in
// skipped with the reason, and the macro mean over it is not computed
// either.
func (c Confusion) derive(at Metric, field string, b *builder) error {
	n := len(c.Classes)
	var total, trace float64
	colSum := make([]float64, n)
	rowSum := make([]float64, n)
	for i, row := range c.Counts {
		for j, v := range row {
			total += v
			rowSum[i] += v
			colSum[j] += v
			if i == j {
				trace += v
			}
		}
	}
	from := fmt.Sprintf("confusionMatrix (%d classes, %v examples)", n, total)
	put := func(name, class string, v float64) error {
		m := at
		m.Name, m.Class, m.Value, m.Derived, m.From, m.Source = name, class, v, true, from, field
		return b.add(m, field)
	}
	if total == 0 {
		b.skip(field, "confusion matrix holds no examples: no metric derived from it")
		return nil
	}
	if err := put("accuracy", "", trace/total); err != nil {
		return err
	}
	type prf struct{ p, r, f float64 }
	var per []prf
	complete := true
	for i, class := range c.Classes {
		tp := c.Counts[i][i]
		var x prf
		okP, okR := colSum[i] > 0, rowSum[i] > 0
		if okP {
			x.p = tp / colSum[i]
			if err := put("precision", class, x.p); err != nil {
				return err
			}
		} else {
			b.skip(field, fmt.Sprintf("precision of class %q not computed: the class is never predicted", class))
		}
		if okR {
			x.r = tp / rowSum[i]
			if err := put("recall", class, x.r); err != nil {
				return err
			}
		} else {
			b.skip(field, fmt.Sprintf("recall of class %q not computed: the class has no examples", class))
		}
		if okP && okR {
			if x.p+x.r > 0 {
				x.f = 2 * x.p * x.r / (x.p + x.r)
			}
			if err := put("f1", class, x.f); err != nil {
				return err
			}
			per = append(per, x)
		} else {
			complete = false
		}
	}
	if !complete {
		b.skip(field, "precision_macro, recall_macro and f1_macro not computed: some class's precision or recall is undefined")
		return nil
	}
	var sp, sr, sf float64
	for _, x := range per {
		sp += x.p
		sr += x.r
		sf += x.f
	}
	k := float64(len(per))
	for _, nv := range []struct {
		name string
		v    float64
	}{{"precision_macro", sp / k}, {"recall_macro", sr / k}, {"f1_macro", sf / k}} {
		if err := put(nv.name, "", nv.v); err != nil {
			return err
		}
	}
	return nil
}

// ROCPoint is one point of a ROC curve.
type ROCPoint struct{ FPR, TPR float64 }

// AUC is the area under the ROC curve through pts by the trapezoid rule,
// the curve closed at (0,0) and (1,1). Points are sorted by false
// positive rate, then true positive rate (a step's vertical segment adds
// no area whichever way it is walked). Every coordinate must be in [0,1].
func AUC(pts []ROCPoint) float64 {
	p := make([]ROCPoint, 0, len(pts)+2)
	p = append(p, ROCPoint{0, 0})
	p = append(p, pts...)
	p = append(p, ROCPoint{1, 1})
	sort.Slice(p, func(i, j int) bool {
		if p[i].FPR != p[j].FPR {
			return p[i].FPR < p[j].FPR
		}
		return p[i].TPR < p[j].TPR
	})
	var area float64
	for i := 1; i < len(p); i++ {
		area += (p[i].FPR - p[i-1].FPR) * (p[i].TPR + p[i-1].TPR) / 2
	}
	return math.Min(1, math.Max(0, area))
}
