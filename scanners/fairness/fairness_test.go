package fairness

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/parquet-go/parquet-go"
)

func scanString(t *testing.T, format, data string, o Options) *Evidence {
	t.Helper()
	ev, err := ScanReader(context.Background(), strings.NewReader(data), format, o)
	if err != nil {
		t.Fatalf("ScanReader: %v", err)
	}
	return ev
}

func grouping(t *testing.T, ev *Evidence, name string) Grouping {
	t.Helper()
	for _, g := range ev.Groupings {
		if g.Name == name {
			return g
		}
	}
	t.Fatalf("no grouping %q in %v", name, ev.Groupings)
	return Grouping{}
}

func group(t *testing.T, g Grouping, name string) Group {
	t.Helper()
	for _, x := range g.Groups {
		if x.Name == name {
			return x
		}
	}
	t.Fatalf("no group %q in grouping %q", name, g.Name)
	return Group{}
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6f, want %.6f (±%g)", what, got, want, tol)
	}
}

// csvRows builds a CSV with columns y,yhat,g from (group, label, prediction) triples.
func csvRows(rows ...[3]string) string {
	var b strings.Builder
	b.WriteString("y,yhat,g\n")
	for _, r := range rows {
		b.WriteString(r[1] + "," + r[2] + "," + r[0] + "\n")
	}
	return b.String()
}

func rep(n int, r [3]string) [][3]string {
	out := make([][3]string, n)
	for i := range out {
		out[i] = r
	}
	return out
}

var oneCol = Options{Label: "y", Prediction: "yhat", Groups: []string{"g"}, MinGroupSize: 1}

// TestHandDerived checks every number against arithmetic done by hand.
func TestHandDerived(t *testing.T) {
	// Group A: (y,ŷ) = (1,1) (1,0) (0,1) (0,0): tp=1 fn=1 fp=1 tn=1.
	//   base 2/4 = .5, selection 2/4 = .5, TPR 1/2, FPR 1/2, FNR 1/2,
	//   precision 1/2, accuracy 2/4.
	// Group B: (1,1) (1,1) (0,0) (0,0): tp=2 fn=0 fp=0 tn=2.
	//   base .5, selection .5, TPR 2/2 = 1, FPR 0/2 = 0, FNR 0, precision 1, accuracy 1.
	ev := scanString(t, "csv", csvRows(
		[3]string{"A", "1", "1"}, [3]string{"A", "1", "0"}, [3]string{"A", "0", "1"}, [3]string{"A", "0", "0"},
		[3]string{"B", "1", "1"}, [3]string{"B", "1", "1"}, [3]string{"B", "0", "0"}, [3]string{"B", "0", "0"},
	), oneCol)
	if ev.Rows != 8 || ev.Schema != "fairness/v1" || ev.Settings.Negative != "0" {
		t.Fatalf("rows %d schema %q negative %q", ev.Rows, ev.Schema, ev.Settings.Negative)
	}
	g := grouping(t, ev, "g")
	a, b := group(t, g, "A"), group(t, g, "B")
	if a.TP != 1 || a.FN != 1 || a.FP != 1 || a.TN != 1 || b.TP != 2 || b.TN != 2 || b.FP != 0 || b.FN != 0 {
		t.Fatalf("confusion counts A %+v B %+v", a, b)
	}
	for _, c := range []struct {
		what string
		r    *Rate
		want float64
	}{
		{"A base", a.BaseRate, .5}, {"A selection", a.SelectionRate, .5}, {"A TPR", a.TPR, .5}, {"A FPR", a.FPR, .5},
		{"A FNR", a.FNR, .5}, {"A precision", a.Precision, .5}, {"A accuracy", a.Accuracy, .5},
		{"B TPR", b.TPR, 1}, {"B FPR", b.FPR, 0}, {"B FNR", b.FNR, 0}, {"B precision", b.Precision, 1}, {"B accuracy", b.Accuracy, 1},
	} {
		near(t, c.what, c.r.Value, c.want, 1e-9)
	}
	// Wilson, x=2 n=4, z=1.959964 (z²=3.841459):
	//   den = 1 + 3.841459/4 = 1.960365; centre = (.5 + 3.841459/8)/den = .5
	//   half = z/den·sqrt(.25/4 + 3.841459/64) = .999796·sqrt(.122523) = .999796·.350033 = .349961
	//   → [.150039, .849961]
	near(t, "A selection CI low", a.SelectionRate.CI[0], .150039, 2e-6)
	near(t, "A selection CI high", a.SelectionRate.CI[1], .849961, 2e-6)

	gp := g.Gaps
	// Demographic parity: both .5 → difference 0, ratio 1; ties name A (max, first) and B (min, last).
	near(t, "DP difference", *gp.DemographicParityDifference.Value, 0, 0)
	near(t, "DP ratio", *gp.DemographicParityRatio.Value, 1, 0)
	if gp.DemographicParityDifference.Max.Group != "A" || gp.DemographicParityDifference.Min.Group != "B" {
		t.Errorf("DP groups %+v %+v", gp.DemographicParityDifference.Max, gp.DemographicParityDifference.Min)
	}
	// Equal opportunity: TPR B 1 − A .5 = .5. Newcombe, one comparison (z=1.959964):
	//   Wilson(2,2): den = 1+3.841459/2 = 2.920730, centre = (1+.960365)/den = .671193,
	//     half = z/den·sqrt(3.841459/16) = .671049·.489991 = .328808 → [.342385, 1]
	//   Wilson(1,2): centre .5, half = .671049·sqrt(.125+.240091) = .671049·.604228 = .405467 → [.094533, .905467]
	//   L = .5 − sqrt((1−.342385)² + (.905467−.5)²) = .5 − sqrt(.432457+.164404) = .5 − .772568 = −.272568
	//   U = .5 + sqrt((1−1)² + (.5−.094533)²) = .905467
	eo := gp.EqualOpportunityDifference
	near(t, "EOpp", *eo.Value, .5, 0)
	near(t, "EOpp CI low", eo.CI[0], -.272568, 2e-5)
	near(t, "EOpp CI high", eo.CI[1], .905467, 2e-5)
	if eo.Max.Group != "B" || eo.Min.Group != "A" {
		t.Errorf("EOpp groups %+v %+v", eo.Max, eo.Min)
	}
	// Equalized odds: TPR diff .5 (B−A), FPR diff .5 − 0 = .5 (A−B): max .5, basis TPR (FPR not larger).
	eq := gp.EqualizedOddsDifference
	near(t, "EOdds", *eq.Value, .5, 0)
	if eq.Basis != "tpr" || len(eq.Components) != 2 || *eq.Components[1].Value != .5 || eq.Components[1].Max.Group != "A" {
		t.Errorf("EOdds basis %q components %+v", eq.Basis, eq.Components)
	}
	// two comparisons (one TPR pair, one FPR pair): z = Φ⁻¹(1 − .05/4) = 2.241403, wider than EOpp's
	if !(eq.CI[0] < eo.CI[0] && eq.Components[0].CI[1] > eo.CI[1]) {
		t.Errorf("EOdds interval %v should be Bonferroni-wider than EOpp's %v", *eq.CI, *eo.CI)
	}
}

// TestRatioKatz: A selects 2/10, B 5/10: ratio .2/.5 = .4 (fails four-fifths).
// Katz: se = sqrt(1/2 − 1/10 + 1/5 − 1/10) = sqrt(.5) = .707107;
// z·se = 1.959964·.707107 = 1.385904; .4·e^−1.385904 = .4·.250091 = .100036;
// .4·e^1.385904 = .4·3.998545 = 1.599418.
// Newcombe for .5 − .2 with Wilson(5,10) = [.236593, .763407] and
// Wilson(2,10) = [.056682, .509799]: L = .3 − sqrt(.263407² + .309799²) = .3 − .406638 = −.106638,
// U = .3 + sqrt(.263407² + .143318²) = .3 + .299871 = .599871.
func TestRatioKatz(t *testing.T) {
	var rows [][3]string
	rows = append(rows, rep(2, [3]string{"A", "0", "1"})...)
	rows = append(rows, rep(8, [3]string{"A", "0", "0"})...)
	rows = append(rows, rep(5, [3]string{"B", "1", "1"})...)
	rows = append(rows, rep(5, [3]string{"B", "1", "0"})...)
	g := grouping(t, scanString(t, "csv", csvRows(rows...), oneCol), "g")
	r := g.Gaps.DemographicParityRatio
	near(t, "ratio", *r.Value, .4, 1e-9)
	near(t, "ratio low", r.CI[0], .100036, 2e-5)
	near(t, "ratio high", r.CI[1], 1.599418, 2e-4)
	if r.Min.Group != "A" || r.Max.Group != "B" {
		t.Errorf("ratio groups %+v %+v", r.Min, r.Max)
	}
	d := g.Gaps.DemographicParityDifference
	near(t, "difference", *d.Value, .3, 1e-9)
	near(t, "difference low", d.CI[0], -.106638, 5e-5)
	near(t, "difference high", d.CI[1], .599871, 5e-5)
}

// TestBonferroni: three groups make three pairs: z = Φ⁻¹(1 − .05/6) = 2.393980.
func TestBonferroni(t *testing.T) {
	near(t, "z(.95)", zFor(.95), 1.959964, 1e-6)
	near(t, "z(1-.05/3)", zFor(1-.05/3), 2.393980, 1e-6)
	var rows [][3]string
	for _, g := range []string{"A", "B", "C"} {
		rows = append(rows, rep(10, [3]string{g, "1", "1"})...)
		rows = append(rows, rep(10, [3]string{g, "0", "0"})...)
	}
	d := grouping(t, scanString(t, "csv", csvRows(rows...), oneCol), "g").Gaps.DemographicParityDifference
	if !strings.Contains(d.Method, "Bonferroni over 3 comparison(s)") {
		t.Errorf("method %q", d.Method)
	}
}

func TestAUC(t *testing.T) {
	// positives score .9, .8; negatives .1, .85: pairs (.9>.1) (.9>.85) (.8>.1) (.8<.85) → 3/4;
	// every score in its own bin → max_error 0.
	data := "y,yhat,s,g\n1,1,0.9,A\n1,1,0.8,A\n0,0,0.1,A\n0,1,0.85,A\n1,0,0.5001,B\n0,0,0.5004,B\n"
	o := oneCol
	o.Score = "s"
	g := grouping(t, scanString(t, "csv", data, o), "g")
	a, b := group(t, g, "A"), group(t, g, "B")
	if a.ROCAUC == nil || a.ROCAUC.Value != .75 || a.ROCAUC.MaxError != 0 {
		t.Errorf("A AUC %+v, want .75 ± 0", a.ROCAUC)
	}
	// B: one positive .5001 and one negative .5004 share bin 500: counted 1/2, error up to 1/2 (exact: 0).
	if b.ROCAUC == nil || b.ROCAUC.Value != .5 || b.ROCAUC.MaxError != .5 {
		t.Errorf("B AUC %+v, want .5 ± .5", b.ROCAUC)
	}
	for _, bad := range []string{"1.5", "-0.1", "NaN", "x"} {
		_, err := ScanReader(context.Background(), strings.NewReader("y,yhat,s,g\n1,1,"+bad+",A\n"), "csv", o)
		if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "between 0 and 1") {
			t.Errorf("score %s: %v", bad, err)
		}
	}
}

// TestAUCAgainstExact compares the binned AUC with the exact Mann-Whitney
// AUC over random scores: the difference must be within max_error.
func TestAUCAgainstExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("y,yhat,s,g\n")
	var pos, neg []float64
	for i := 0; i < 3000; i++ {
		y := rng.IntN(2)
		s := math.Round(math.Min(1, math.Max(0, rng.NormFloat64()*0.2+0.4+0.2*float64(y)))*1e4) / 1e4
		if y == 1 {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
		b.WriteString(strings.Join([]string{itoa(y), "0", ftoa(s), "A"}, ",") + "\n")
	}
	o := oneCol
	o.Score = "s"
	a := group(t, grouping(t, scanString(t, "csv", b.String(), o), "g"), "A")
	var wins float64
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				wins++
			case p == n:
				wins += .5
			}
		}
	}
	exact := wins / float64(len(pos)*len(neg))
	if d := math.Abs(a.ROCAUC.Value - exact); d > a.ROCAUC.MaxError+1e-6 {
		t.Errorf("binned AUC %v, exact %v: off by %v, more than max_error %v", a.ROCAUC.Value, exact, d, a.ROCAUC.MaxError)
	}
	if a.ROCAUC.MaxError > 0.01 {
		t.Errorf("max_error %v: want < .01 for spread-out scores", a.ROCAUC.MaxError)
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func strconvFormat(f float64) string { return ftoa(f) }

// TestOrderAndSymmetry: shuffling rows gives the same evidence; renaming
// the groups swaps the names and nothing else.
func TestOrderAndSymmetry(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var rows []string
	for i := 0; i < 500; i++ {
		g := []string{"F", "M", "X"}[rng.IntN(3)]
		h := []string{"young", "old"}[rng.IntN(2)]
		y := rng.IntN(2)
		p := y
		if rng.IntN(4) == 0 {
			p = 1 - y
		}
		rows = append(rows, strings.Join([]string{itoa(y), itoa(p), ftoa(float64(rng.IntN(1000)) / 1000), g, h}, ","))
	}
	o := Options{Label: "y", Prediction: "yhat", Score: "s", Groups: []string{"sex", "age"}, MinGroupSize: 20}
	build := func(rows []string) string { return "y,yhat,s,sex,age\n" + strings.Join(rows, "\n") + "\n" }
	want := scanString(t, "csv", build(rows), o)
	for i := 0; i < 3; i++ {
		shuffled := append([]string(nil), rows...)
		rng.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if diff := cmp.Diff(want, scanString(t, "csv", build(shuffled), o)); diff != "" {
			t.Fatalf("shuffled rows changed the evidence (-want +got):\n%s", diff)
		}
	}
	// columns in another order in the file: same evidence
	var swapped []string
	for _, r := range rows {
		f := strings.Split(r, ",")
		swapped = append(swapped, strings.Join([]string{f[4], f[3], f[2], f[1], f[0]}, ","))
	}
	got := scanString(t, "csv", "age,sex,s,yhat,y\n"+strings.Join(swapped, "\n")+"\n", o)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("column order changed the evidence:\n%s", diff)
	}
	// rename F<->M: the sex gaps keep their values, the groups' names swap
	var renamed []string
	for _, r := range rows {
		f := strings.Split(r, ",")
		f[3] = map[string]string{"F": "M", "M": "F", "X": "X"}[f[3]]
		renamed = append(renamed, strings.Join(f, ","))
	}
	ren := grouping(t, scanString(t, "csv", build(renamed), o), "sex")
	orig := grouping(t, want, "sex")
	swap := map[string]string{"F": "M", "M": "F", "X": "X"}
	for _, pair := range [][2]Gap{
		{orig.Gaps.DemographicParityDifference, ren.Gaps.DemographicParityDifference},
		{orig.Gaps.DemographicParityRatio, ren.Gaps.DemographicParityRatio},
		{orig.Gaps.EqualOpportunityDifference, ren.Gaps.EqualOpportunityDifference},
		{orig.Gaps.EqualizedOddsDifference, ren.Gaps.EqualizedOddsDifference},
	} {
		a, b := pair[0], pair[1]
		if *a.Value != *b.Value || *a.CI != *b.CI || swap[a.Max.Group] != b.Max.Group || swap[a.Min.Group] != b.Min.Group {
			t.Errorf("renaming changed %s: %v %v %+v %+v vs %v %v %+v %+v", a.Metric, *a.Value, *a.CI, a.Max, a.Min, *b.Value, *b.CI, b.Max, b.Min)
		}
	}
	for _, gr := range orig.Groups {
		r := group(t, ren, swap[gr.Name])
		r.Name, r.Values = gr.Name, gr.Values
		if diff := cmp.Diff(gr, r); diff != "" {
			t.Errorf("group %s after renaming:\n%s", gr.Name, diff)
		}
	}
}

// TestUnpackedKeys: with ids too wide to pack into one uint64 the cells
// are keyed by varints; the evidence must not change.
func TestUnpackedKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var b strings.Builder
	b.WriteString("y,yhat,a,b,c,d\n")
	for i := 0; i < 2000; i++ {
		b.WriteString(itoa(rng.IntN(2)) + "," + itoa(rng.IntN(2)))
		for j := 0; j < 4; j++ {
			b.WriteString(",v" + strconv.Itoa(rng.IntN(20+j)))
		}
		b.WriteString("\n")
	}
	o := Options{Label: "y", Prediction: "yhat", Groups: []string{"a", "b", "c", "d"}, MinGroupSize: 3}
	packed := scanString(t, "csv", b.String(), o)
	o.Limits.MaxGroupValues = 1 << 20 // 20 bits x 4 columns > 64
	if a := newAccum(o.withDefaults()); a.packBits != 0 {
		t.Fatalf("keys packed with %d bits", a.packBits)
	}
	if diff := cmp.Diff(packed, scanString(t, "csv", b.String(), o)); diff != "" {
		t.Errorf("varint keys changed the evidence:\n%s", diff)
	}
}

func TestIntersections(t *testing.T) {
	// sex × age: F&old 2 rows, F&young 1, M&young 3
	data := "y,yhat,sex,age\n1,1,F,old\n0,1,F,old\n1,0,F,young\n1,1,M,young\n0,0,M,young\n0,0,M,young\n"
	ev := scanString(t, "csv", data, Options{Label: "y", Prediction: "yhat", Groups: []string{"sex", "age"}, MinGroupSize: 1})
	if len(ev.Groupings) != 3 {
		t.Fatalf("%d groupings, want sex, age and sex & age", len(ev.Groupings))
	}
	in := grouping(t, ev, "sex & age")
	if !in.Intersection || len(in.Groups) != 3 {
		t.Fatalf("intersection %+v", in)
	}
	got := map[string][4]int64{}
	for _, g := range in.Groups {
		got[g.Name] = [4]int64{g.TP, g.FP, g.TN, g.FN}
	}
	want := map[string][4]int64{"F & old": {1, 1, 0, 0}, "F & young": {0, 0, 0, 1}, "M & young": {1, 0, 2, 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("intersection counts (-want +got):\n%s", diff)
	}
	// selection: F&old 2/2 = 1, F&young 0/1 = 0, M&young 1/3: DP difference 1 − 0 = 1
	d := in.Gaps.DemographicParityDifference
	if *d.Value != 1 || d.Max.Group != "F & old" || d.Min.Group != "F & young" {
		t.Errorf("intersection DP %+v", d)
	}
	// marginal sex: F 3 rows (selection 2/3), M 3 rows (1/3)
	sex := grouping(t, ev, "sex")
	if f := group(t, sex, "F"); f.Count != 3 || f.SelectionRate.Value != round6(2.0/3) {
		t.Errorf("F %+v", f)
	}
}

func TestEdgeCases(t *testing.T) {
	t.Run("group with no positives", func(t *testing.T) {
		rows := append(rep(5, [3]string{"A", "0", "0"}), rep(5, [3]string{"B", "1", "1"})...)
		rows = append(rows, rep(5, [3]string{"B", "0", "0"})...)
		g := grouping(t, scanString(t, "csv", csvRows(rows...), oneCol), "g")
		a := group(t, g, "A")
		if a.TPR != nil || a.FNR != nil || a.Positives != 0 || len(a.Notes) == 0 {
			t.Errorf("A %+v: TPR must be undefined with a note", a)
		}
		eo := g.Gaps.EqualOpportunityDifference
		if eo.Value != nil || len(eo.Excluded) != 1 || eo.Excluded[0].Group != "A" || !strings.Contains(eo.Excluded[0].Reason, "no positive labels") {
			t.Errorf("equal opportunity %+v: A must be excluded, named, and the gap not computed", eo)
		}
		if g.Gaps.DemographicParityDifference.Value == nil || *g.Gaps.DemographicParityDifference.Value != 0.5 {
			t.Errorf("DP %+v", g.Gaps.DemographicParityDifference)
		}
	})
	t.Run("one group only", func(t *testing.T) {
		g := grouping(t, scanString(t, "csv", csvRows([3]string{"A", "1", "1"}, [3]string{"A", "0", "0"}), oneCol), "g")
		for _, gp := range []Gap{g.Gaps.DemographicParityDifference, g.Gaps.DemographicParityRatio, g.Gaps.EqualOpportunityDifference, g.Gaps.EqualizedOddsDifference} {
			if gp.Value != nil || gp.CI != nil || gp.Reason == "" {
				t.Errorf("%s with one group: %+v, want no value and a reason", gp.Metric, gp)
			}
		}
	})
	t.Run("all predictions equal", func(t *testing.T) {
		rows := append(rep(3, [3]string{"A", "1", "0"}), rep(3, [3]string{"A", "0", "0"})...)
		rows = append(rows, rep(4, [3]string{"B", "1", "0"})...)
		rows = append(rows, rep(2, [3]string{"B", "0", "0"})...)
		g := grouping(t, scanString(t, "csv", csvRows(rows...), oneCol), "g")
		// every selection rate 0: difference 0, ratio 1 by definition (no disparity)
		if *g.Gaps.DemographicParityDifference.Value != 0 || *g.Gaps.DemographicParityRatio.Value != 1 {
			t.Errorf("DP %v ratio %v", *g.Gaps.DemographicParityDifference.Value, *g.Gaps.DemographicParityRatio.Value)
		}
		if a := group(t, g, "A"); a.Precision != nil {
			t.Errorf("precision with no positive predictions: %+v", a.Precision)
		}
	})
	t.Run("too small groups are reported, not dropped", func(t *testing.T) {
		rows := append(rep(40, [3]string{"A", "1", "1"}), rep(40, [3]string{"B", "0", "1"})...)
		rows = append(rows, rep(3, [3]string{"C", "1", "0"})...)
		o := oneCol
		o.MinGroupSize = 30
		g := grouping(t, scanString(t, "csv", csvRows(rows...), o), "g")
		c := group(t, g, "C")
		if !c.TooSmall || c.Count != 3 {
			t.Errorf("C %+v", c)
		}
		d := g.Gaps.DemographicParityDifference
		if d.Judged != 2 || len(d.Excluded) != 1 || d.Excluded[0].Group != "C" || *d.Value != 0 {
			t.Errorf("DP %+v: C left out and named", d)
		}
	})
	t.Run("missing group values", func(t *testing.T) {
		data := "y,yhat,g\n1,1,A\n0,0,\n1,0,A\n"
		g := grouping(t, scanString(t, "csv", data, oneCol), "g")
		if m := group(t, g, MissingGroup); m.Count != 1 {
			t.Errorf("missing group %+v", m)
		}
		o := oneCol
		o.Missing = "error"
		_, err := ScanReader(context.Background(), strings.NewReader(data), "csv", o)
		if !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "data row 2") {
			t.Errorf("--missing error: %v", err)
		}
		_, err = ScanReader(context.Background(), strings.NewReader("y,yhat,g\n1,1,(missing)\n"), "csv", oneCol)
		if !errors.Is(err, ErrInput) {
			t.Errorf("literal (missing): %v", err)
		}
	})
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct {
		name, data string
		o          Options
		want       string
	}{
		{"empty file", "", oneCol, "empty file"},
		{"header only", "y,yhat,g\n", oneCol, "no data rows"},
		{"unknown label column", "y,yhat,g\n1,1,A\n", Options{Label: "truth", Prediction: "yhat", Groups: []string{"g"}}, `no label column "truth"`},
		{"unknown group column in header only", "y,yhat,g\n", Options{Label: "y", Prediction: "yhat", Groups: []string{"sex"}}, `no group column "sex"`},
		{"third label value", "y,yhat,g\n1,1,A\n0,0,A\n2,0,A\n", oneCol, `third value "2"`},
		{"third prediction value", "y,yhat,g\n1,1,A\n0,0,A\n0,yes,A\n", oneCol, `third value "yes"`},
		{"positive never seen", "y,yhat,g\nyes,no,A\nno,no,A\n", oneCol, `neither is the positive value "1"`},
		{"positive in neither column", "y,yhat,g\n0,0,A\n0,0,A\n", oneCol, `positive value "1" appears in neither`},
		{"label empty", "y,yhat,g\n,1,A\n", oneCol, "no label"},
		{"no group", "y,yhat,g\n1,1,A\n", Options{Label: "y", Prediction: "yhat"}, "no group column"},
		{"column twice", "y,yhat,g\n1,1,A\n", Options{Label: "y", Prediction: "y", Groups: []string{"g"}}, "named twice"},
		{"unterminated quote", "y,yhat,g\n1,1,\"A\n", oneCol, "quoted field"},
		{"jsonl not object", "[1]\n", oneCol, "not a JSON object"},
		{"jsonl nested value", `{"y":1,"yhat":1,"g":{"a":1}}` + "\n", oneCol, "not an object or array"},
		{"jsonl unknown column", `{"y":1,"yhat":1,"h":"A"}` + "\n", oneCol, `no group column "g"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			format := "csv"
			if strings.HasPrefix(c.name, "jsonl") {
				format = "jsonl"
			}
			_, err := ScanReader(context.Background(), strings.NewReader(c.data), format, c.o)
			if err == nil || !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want ErrInput containing %q", err, c.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("y,yhat,g\n")
	for i := 0; i < 20; i++ {
		b.WriteString("1,1,v" + strconvFormat(float64(i)) + "\n")
	}
	o := oneCol
	o.Limits.MaxGroupValues = 10
	if _, err := ScanReader(context.Background(), strings.NewReader(b.String()), "csv", o); !errors.Is(err, ErrLimit) {
		t.Errorf("group values: %v", err)
	}
	o = oneCol
	o.Limits.MaxRecordBytes = 64
	if _, err := ScanReader(context.Background(), strings.NewReader("y,yhat,g\n1,1,"+strings.Repeat("x", 100)+"\n"), "csv", o); !errors.Is(err, ErrLimit) {
		t.Errorf("record bytes: %v", err)
	}
	o = oneCol
	o.Limits.MaxValueBytes = 8
	if _, err := ScanReader(context.Background(), strings.NewReader("y,yhat,g\n1,1,"+strings.Repeat("x", 20)+"\n"), "csv", o); !errors.Is(err, ErrLimit) {
		t.Errorf("value bytes: %v", err)
	}
	o = Options{Label: "y", Prediction: "yhat", Groups: []string{"a", "b"}, Limits: Limits{MaxCells: 3}}
	if _, err := ScanReader(context.Background(), strings.NewReader("y,yhat,a,b\n1,1,x,x\n1,1,x,y\n1,1,y,x\n1,1,y,y\n"), "csv", o); !errors.Is(err, ErrLimit) {
		t.Errorf("cells: %v", err)
	}
	o = Options{Label: "y", Prediction: "yhat", Groups: []string{"a", "b", "c"}, Limits: Limits{MaxGroupColumns: 2}}
	if _, err := ScanReader(context.Background(), strings.NewReader(""), "csv", o); !errors.Is(err, ErrLimit) {
		t.Errorf("group columns: %v", err)
	}
	o = oneCol
	if _, err := ScanReader(context.Background(), strings.NewReader(`{"y":`+strings.Repeat("[", 100)+strings.Repeat("]", 100)+"}\n"), "jsonl", o); !errors.Is(err, ErrLimit) {
		t.Errorf("JSON depth: %v", err)
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ScanReader(ctx, strings.NewReader("y,yhat,g\n1,1,A\n"), "csv", oneCol); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestFormatsAgree(t *testing.T) {
	dir := t.TempDir()
	csv := "y,yhat,s,g,h\n1,1,0.9,A,x\n0,1,0.7,A,y\n1,0,0.2,B,x\n0,0,0.1,B,y\n1,1,0.6,B,y\n"
	tsv := strings.ReplaceAll(csv, ",", "\t")
	jsonl := `{"y":1,"yhat":1,"s":0.9,"g":"A","h":"x"}
{"y":0,"yhat":1,"s":0.7,"g":"A","h":"y"}
{"y":1,"yhat":0,"s":0.2,"g":"B","h":"x","extra":{"deep":[1,2]}}
{"y":0,"yhat":0,"s":0.1,"g":"B","h":"y"}
{"y":1,"yhat":1,"s":0.6,"g":"B","h":"y"}
`
	type prow struct {
		Y    int64   `parquet:"y"`
		Yhat int64   `parquet:"yhat"`
		S    float64 `parquet:"s"`
		G    string  `parquet:"g"`
		H    string  `parquet:"h"`
	}
	pq := []prow{{1, 1, .9, "A", "x"}, {0, 1, .7, "A", "y"}, {1, 0, .2, "B", "x"}, {0, 0, .1, "B", "y"}, {1, 1, .6, "B", "y"}}
	pqPath := filepath.Join(dir, "p.parquet")
	f, err := os.Create(pqPath)
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[prow](f)
	if _, err := w.Write(pq); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for name, data := range map[string]string{"p.csv": csv, "p.tsv": tsv, "p.jsonl": jsonl} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := Options{Label: "y", Prediction: "yhat", Score: "s", Groups: []string{"g", "h"}, MinGroupSize: 1}
	var want *Evidence
	for _, name := range []string{"p.csv", "p.tsv", "p.jsonl", "p.parquet"} {
		ev, err := Scan(context.Background(), filepath.Join(dir, name), o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ev.Predictions == nil || len(ev.Predictions.SHA256) != 64 || ev.Predictions.Path != filepath.Join(dir, name) || ev.Subject != nil {
			t.Fatalf("%s: predictions %+v subject %+v", name, ev.Predictions, ev.Subject)
		}
		st, _ := os.Stat(filepath.Join(dir, name))
		if ev.Predictions.Bytes != st.Size() {
			t.Errorf("%s: %d bytes hashed, file has %d", name, ev.Predictions.Bytes, st.Size())
		}
		ev.Predictions = nil
		if want == nil {
			want = ev
			continue
		}
		if diff := cmp.Diff(want, ev); diff != "" {
			t.Errorf("%s differs from p.csv:\n%s", name, diff)
		}
	}
	// JSON booleans as labels
	o2 := Options{Label: "y", Prediction: "yhat", Groups: []string{"g"}, Positive: "true", MinGroupSize: 1}
	ev := scanString(t, "jsonl", `{"y":true,"yhat":false,"g":"A"}`+"\n"+`{"y":false,"yhat":false,"g":null}`+"\n", o2)
	if g := grouping(t, ev, "g"); len(g.Groups) != 2 || group(t, g, "A").FN != 1 || group(t, g, MissingGroup).TN != 1 {
		t.Errorf("booleans: %+v", g.Groups)
	}
}

func TestFileSafety(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "p.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v (no FIFOs here)", err)
	}
	_, err := Scan(context.Background(), fifo, oneCol)
	if err == nil || !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "FIFO") {
		t.Errorf("FIFO: %v", err)
	}
	o := oneCol
	o.Format = "csv"
	if _, err := Scan(context.Background(), "/dev/zero", o); err == nil {
		t.Error("/dev/zero was read")
	}
	if _, err := Scan(context.Background(), filepath.Join(dir, "nope.csv"), oneCol); !errors.Is(err, ErrInput) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Scan(context.Background(), filepath.Join(dir, "p.xlsx"), oneCol); !errors.Is(err, ErrInput) {
		t.Errorf("unknown extension: %v", err)
	}
	big := filepath.Join(dir, "big.csv")
	os.WriteFile(big, []byte("y,yhat,g\n1,1,A\n"), 0o644)
	o = oneCol
	o.Limits.MaxBytes = 5
	if _, err := Scan(context.Background(), big, o); !errors.Is(err, ErrLimit) {
		t.Errorf("max bytes: %v", err)
	}
	corrupt := filepath.Join(dir, "bad.parquet")
	os.WriteFile(corrupt, []byte("PAR1 this is not parquet PAR1"), 0o644)
	if _, err := Scan(context.Background(), corrupt, oneCol); !errors.Is(err, ErrInput) {
		t.Errorf("corrupt parquet: %v", err)
	}
}
