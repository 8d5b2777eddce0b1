package fairness

import (
	"fmt"
	"math"
)

// metric says how one rate is computed from a group's counts.
type metric struct {
	name string
	x, n func(c *counts) int64
	// undefined is the reason a group with n == 0 is left out
	undefined string
}

var (
	selectionMetric = metric{"selection_rate",
		func(c *counts) int64 { return c.tp + c.fp },
		func(c *counts) int64 { return c.tp + c.fp + c.tn + c.fn }, "no rows"}
	tprMetric = metric{"tpr",
		func(c *counts) int64 { return c.tp },
		func(c *counts) int64 { return c.tp + c.fn }, "no positive labels: TPR undefined"}
	fprMetric = metric{"fpr",
		func(c *counts) int64 { return c.fp },
		func(c *counts) int64 { return c.fp + c.tn }, "no negative labels: FPR undefined"}
)

// judged are the groups a gap compares, and the groups it leaves out.
type judged struct {
	idx      []int
	excluded []Excluded
}

func eligible(groups []Group, raw []rawGroup, m metric) judged {
	j := judged{excluded: []Excluded{}}
	for i, g := range groups {
		switch {
		case g.TooSmall:
			j.excluded = append(j.excluded, Excluded{Group: g.Name, Reason: fmt.Sprintf("too small to judge: %d rows", g.Count)})
		case m.n(raw[i].c) == 0:
			j.excluded = append(j.excluded, Excluded{Group: g.Name, Reason: m.undefined})
		default:
			j.idx = append(j.idx, i)
		}
	}
	return j
}

// pairs is the number of group pairs among k groups: the Bonferroni count.
func pairs(k int) int { return k * (k - 1) / 2 }

// extremes returns the positions (in j.idx order) of the highest and
// lowest rate; among equal rates the highest is the first group in the
// grouping's order and the lowest the last, so two groups with equal
// rates are both named.
func extremes(j judged, raw []rawGroup, m metric) (hi, lo int) {
	hiRate, loRate := math.Inf(-1), math.Inf(1)
	for _, i := range j.idx {
		r := float64(m.x(raw[i].c)) / float64(m.n(raw[i].c))
		if r > hiRate {
			hi, hiRate = i, r
		}
		if r <= loRate {
			lo, loRate = i, r
		}
	}
	return hi, lo
}

func notComputable(m metric, j judged) Gap {
	return Gap{Metric: m.name, Judged: len(j.idx), Excluded: j.excluded,
		Reason: fmt.Sprintf("%d group(s) could be judged for %s: a gap needs two", len(j.idx), m.name)}
}

func end(g Group, c *counts, m metric) *GapEnd {
	return &GapEnd{Group: g.Name, Rate: round6(float64(m.x(c)) / float64(m.n(c)))}
}

// diffGap is max − min of the rate over the judged groups, with Newcombe's
// hybrid score interval for the difference of the two defining groups at
// the Bonferroni-adjusted level for `comparisons` pairs.
func diffGap(groups []Group, raw []rawGroup, m metric, j judged, comparisons int) Gap {
	if len(j.idx) < 2 {
		return notComputable(m, j)
	}
	hi, lo := extremes(j, raw, m)
	ch, cl := raw[hi].c, raw[lo].c
	z := zFor(1 - (1-Confidence)/float64(comparisons))
	ci := newcombe(m.x(ch), m.n(ch), m.x(cl), m.n(cl), z)
	d := float64(m.x(ch))/float64(m.n(ch)) - float64(m.x(cl))/float64(m.n(cl))
	v := round6(d)
	return Gap{
		Metric: m.name, Value: &v, CI: &Interval{round6(ci[0]), round6(ci[1])},
		Method: fmt.Sprintf("Newcombe hybrid score interval (Wilson), Bonferroni over %d comparison(s)", comparisons),
		Max:    end(groups[hi], ch, m), Min: end(groups[lo], cl, m),
		Judged: len(j.idx), Excluded: j.excluded,
	}
}

// ratioGap is min / max of the rate (1 when every judged group's rate is
// 0), with the Katz log interval at the Bonferroni-adjusted level.
func ratioGap(groups []Group, raw []rawGroup, m metric, j judged) Gap {
	if len(j.idx) < 2 {
		return notComputable(m, j)
	}
	hi, lo := extremes(j, raw, m)
	ch, cl := raw[hi].c, raw[lo].c
	comparisons := pairs(len(j.idx))
	z := zFor(1 - (1-Confidence)/float64(comparisons))
	r := 1.0
	if m.x(ch) > 0 {
		r = (float64(m.x(cl)) / float64(m.n(cl))) / (float64(m.x(ch)) / float64(m.n(ch)))
	}
	ci := katz(m.x(cl), m.n(cl), m.x(ch), m.n(ch), z)
	v := round6(r)
	return Gap{
		Metric: m.name, Value: &v, CI: &Interval{round6(ci[0]), round6(ci[1])},
		Method: fmt.Sprintf("Katz log interval, Bonferroni over %d comparison(s)", comparisons),
		Max:    end(groups[hi], ch, m), Min: end(groups[lo], cl, m),
		Judged: len(j.idx), Excluded: j.excluded,
	}
}

func gaps(groups []Group, raw []rawGroup) Gaps {
	sel := eligible(groups, raw, selectionMetric)
	tpr := eligible(groups, raw, tprMetric)
	fpr := eligible(groups, raw, fprMetric)
	var out Gaps
	out.DemographicParityDifference = diffGap(groups, raw, selectionMetric, sel, max(1, pairs(len(sel.idx))))
	out.DemographicParityRatio = ratioGap(groups, raw, selectionMetric, sel)
	out.EqualOpportunityDifference = diffGap(groups, raw, tprMetric, tpr, max(1, pairs(len(tpr.idx))))
	// equalized odds: both components at the level adjusted for all their comparisons
	both := max(1, pairs(len(tpr.idx))+pairs(len(fpr.idx)))
	ct := diffGap(groups, raw, tprMetric, tpr, both)
	cf := diffGap(groups, raw, fprMetric, fpr, both)
	eo := Gap{Metric: "max(tpr, fpr)", Components: []Gap{ct, cf}, Excluded: []Excluded{},
		Method: fmt.Sprintf("the larger of the TPR and FPR differences; interval [max of lower bounds, max of upper bounds] of their Newcombe intervals, Bonferroni over %d comparison(s)", both)}
	switch {
	case ct.Value == nil || cf.Value == nil:
		eo.Reason = "equalized odds needs both the TPR and the FPR difference: see components"
		eo.Method = ""
	default:
		basis := ct
		eo.Basis = "tpr"
		if *cf.Value > *ct.Value {
			basis, eo.Basis = cf, "fpr"
		}
		v := *basis.Value
		eo.Value = &v
		eo.CI = &Interval{math.Max(ct.CI[0], cf.CI[0]), math.Max(ct.CI[1], cf.CI[1])}
		eo.Max, eo.Min, eo.Judged = basis.Max, basis.Min, basis.Judged
	}
	// the union of the components' exclusions, once per group and reason
	seen := map[Excluded]bool{}
	for _, c := range []Gap{ct, cf} {
		for _, e := range c.Excluded {
			if !seen[e] {
				seen[e] = true
				eo.Excluded = append(eo.Excluded, e)
			}
		}
	}
	out.EqualizedOddsDifference = eo
	return out
}
