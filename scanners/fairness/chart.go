package fairness

import (
	"bytes"
	"encoding/xml"
	"fmt"
)

// SelectionChart draws the selection rate of every group of the given
// groupings (all when names is empty) as an SVG bar chart: one bar per
// group with its Wilson interval as a whisker, and a dashed line at four
// fifths of the highest selection rate of the grouping's judged groups
// (the four-fifths rule: a bar ending left of it fails). Groups too small
// to judge are grey. Group names are XML-escaped.
func SelectionChart(ev *Evidence, names ...string) []byte {
	const (
		width   = 760
		left    = 190 // group labels
		plotW   = 460
		barH    = 18
		gap     = 6
		headerH = 30
	)
	var panels []Grouping
	for _, g := range ev.Groupings {
		if len(names) == 0 || containsName(names, g.Name) {
			panels = append(panels, g)
		}
	}
	height := 50
	for _, g := range panels {
		height += headerH + len(g.Groups)*(barH+gap) + 20
	}
	var b bytes.Buffer
	esc := func(s string) string {
		var e bytes.Buffer
		_ = xml.EscapeText(&e, []byte(s))
		return e.String()
	}
	x := func(rate float64) float64 { return left + rate*plotW }
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">Selection rate per group (%d rows, 95%% Wilson intervals)</text>`+"\n", ev.Rows)
	y := 40
	for _, g := range panels {
		fmt.Fprintf(&b, `<text x="10" y="%d" font-size="13" font-weight="bold">%s</text>`+"\n", y+18, esc(g.Name))
		for _, t := range []float64{0, 0.25, 0.5, 0.75, 1} {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#666666" font-size="10">%.2f</text>`+"\n", x(t), y+18, t)
		}
		y += headerH
		top := y
		for _, gr := range g.Groups {
			fill := "#3b6ea5"
			label := gr.Name
			if gr.TooSmall {
				fill = "#bbbbbb"
				label += " (too small)"
			}
			fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-8, y+barH-5, esc(label))
			if r := gr.SelectionRate; r != nil {
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", left, y, r.Value*plotW, barH, fill)
				mid := y + barH/2
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#222222" stroke-width="1.5"/>`+"\n", x(r.CI[0]), mid, x(r.CI[1]), mid)
				for _, e := range []float64{r.CI[0], r.CI[1]} {
					fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#222222" stroke-width="1.5"/>`+"\n", x(e), mid-4, x(e), mid+4)
				}
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#222222">%.3f (n=%d)</text>`+"\n", x(r.CI[1])+6, y+barH-5, r.Value, gr.Count)
			}
			y += barH + gap
		}
		if m := g.Gaps.DemographicParityRatio.Max; m != nil {
			line := 0.8 * m.Rate
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="5,4"/>`+"\n", x(line), top-4, x(line), y)
			r := g.Gaps.DemographicParityRatio
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#c0392b" font-size="11">4/5 of %s = %.3f; ratio %.3f [%.3f, %.3f]</text>`+"\n", x(line)+4, y+12, esc(m.Group), line, *r.Value, r.CI[0], r.CI[1])
		}
		y += 20
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func containsName(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
