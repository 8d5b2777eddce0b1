package fairness

import "math"

// Interval is a two-sided confidence interval [Low, High].
type Interval [2]float64

// zFor returns the standard normal quantile z with P(|Z| <= z) = level.
func zFor(level float64) float64 {
	return math.Sqrt2 * math.Erfinv(level)
}

// wilson is the Wilson score interval for x successes in n trials
// (Wilson 1927). n must be > 0.
func wilson(x, n int64, z float64) Interval {
	nf := float64(n)
	p := float64(x) / nf
	z2 := z * z
	den := 1 + z2/nf
	centre := (p + z2/(2*nf)) / den
	half := z / den * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	lo, hi := centre-half, centre+half
	// rounding must not move a bound past the estimate or out of [0,1]
	lo = math.Max(0, math.Min(lo, p))
	hi = math.Min(1, math.Max(hi, p))
	return Interval{lo, hi}
}

// newcombe is Newcombe's hybrid score interval (Newcombe 1998, method 10)
// for p1 - p2, from the Wilson intervals of the two proportions:
//
//	L = d - sqrt((p1-l1)^2 + (u2-p2)^2),  U = d + sqrt((u1-p1)^2 + (p2-l2)^2)
func newcombe(x1, n1, x2, n2 int64, z float64) Interval {
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	w1, w2 := wilson(x1, n1, z), wilson(x2, n2, z)
	d := p1 - p2
	lo := d - math.Sqrt(sq(p1-w1[0])+sq(w2[1]-p2))
	hi := d + math.Sqrt(sq(w1[1]-p1)+sq(p2-w2[0]))
	return Interval{math.Max(-1, lo), math.Min(1, hi)}
}

// katz is the Katz log interval for the ratio p1/p2 of two independent
// proportions (Katz et al. 1978): exp(ln(r) ± z·sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)).
// When either count x is 0 the interval uses the Haldane correction (0.5
// added to x1, n1, x2 and n2); the point estimate is never corrected.
func katz(x1, n1, x2, n2 int64, z float64) Interval {
	a, b, c, d := float64(x1), float64(n1), float64(x2), float64(n2)
	if x1 == 0 || x2 == 0 {
		a, b, c, d = a+0.5, b+0.5, c+0.5, d+0.5
	}
	r := (a / b) / (c / d)
	se := math.Sqrt(1/a - 1/b + 1/c - 1/d)
	lo, hi := r*math.Exp(-z*se), r*math.Exp(z*se)
	if x1 == 0 {
		lo = 0 // the estimate is 0: the interval starts there
	}
	return Interval{lo, hi}
}

func sq(x float64) float64 { return x * x }

// round6 keeps evidence readable and stable: six decimals.
func round6(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	return math.Round(x*1e6) / 1e6
}
