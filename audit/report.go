package audit

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// ReportOptions choose the period and the shape of a compliance report.
type ReportOptions struct {
	// From and To bound the period: decisions with From <= time < To.
	From, To time.Time
	// Now is when the report is made: waivers are "in force" when they
	// expire after it. [time.Now()]
	Now time.Time
	// ExpiringWithin marks waivers in force that expire this soon after
	// Now as "expiring soon". [30 days]
	ExpiringWithin time.Duration
	// Top is how many artifacts, gates and rules are named in the lists
	// and charts; the rest are counted as "other". [10]
	Top int
}

// Report is what a compliance report says about a period, computed from
// the log; WriteHTML renders it.
type Report struct {
	From, To, Generated time.Time
	// Decisions in the period, by verdict.
	Total, Allowed, Denied, NotDecided int
	Subjects                           int // distinct subjects decided
	ByDoor                             []Count
	ByEnvironment                      []Count
	// Buckets start at From and are BucketWidth wide; every Series has one
	// count per bucket.
	Buckets     []time.Time
	BucketWidth time.Duration
	// DenialsByGate counts denied decisions per gate that denied (a
	// decision denied by two gates counts once for each); DenialsByRule
	// the same per "gate/rule". Largest first, at most Top, then "other".
	DenialsByGate []Series
	DenialsByRule []Series
	// Waivers are the waivers used in the period, each once; InForce
	// those not expired at Now, ExpiringSoon those expiring within
	// ExpiringWithin of Now.
	Waivers      []WaiverUse
	ExpiringSoon int
	InForce      int
	// MostDenied are the subjects denied most often, at most Top.
	MostDenied []ArtifactCount
}

// Count is a name and how often it occurred.
type Count struct {
	Name  string
	Count int
}

// Series is one line of a chart: a name, its total and a count per bucket.
type Series struct {
	Name   string
	Total  int
	Counts []int
}

// WaiverUse is one waiver and how many decisions in the period it applied to.
type WaiverUse struct {
	Waiver       gates.Waiver
	Uses         int
	Subjects     int
	InForce      bool
	ExpiringSoon bool
}

// ArtifactCount is a subject and how often it was denied.
type ArtifactCount struct {
	Subject  string // kind:ref
	Digest   string
	Denials  int
	LastTime time.Time
	Rules    []string // the rules that denied it, most frequent first
}

// maxReportBuckets bounds the bars of a chart: the bucket width grows
// with the period so that a year is still one readable chart.
const maxReportBuckets = 60

var bucketWidths = []time.Duration{
	time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 14 * 24 * time.Hour, 30 * 24 * time.Hour,
}

// pageSize is how many entries one Query page brings while a report reads the period.
const pageSize = 1000

// BuildReport reads the decisions of the period from s and summarises them.
func BuildReport(ctx context.Context, s Store, o ReportOptions) (*Report, error) {
	if o.From.IsZero() || o.To.IsZero() {
		return nil, errors.New("report: the period needs a start and an end (--from, --to)")
	}
	if !o.To.After(o.From) {
		return nil, fmt.Errorf("report: the period ends (%s) before it starts (%s)", o.To.Format(time.RFC3339), o.From.Format(time.RFC3339))
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.ExpiringWithin <= 0 {
		o.ExpiringWithin = 30 * 24 * time.Hour
	}
	if o.Top <= 0 {
		o.Top = 10
	}
	b := newReportBuilder(o)
	q := Query{From: o.From, To: o.To, Limit: pageSize}
	for {
		entries, next, err := s.Query(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		for i := range entries {
			b.add(&entries[i])
		}
		if next == "" {
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		q.PageToken = next
	}
	return b.report(), nil
}

// reportBuilder accumulates a Report one entry at a time.
type reportBuilder struct {
	o        ReportOptions
	r        Report
	subjects map[string]bool
	doors    map[string]int
	envs     map[string]int
	gates    map[string][]int
	rules    map[string][]int
	waivers  map[string]*waiverAcc
	denied   map[string]*artifactAcc
}

type waiverAcc struct {
	use      WaiverUse
	subjects map[string]bool
}

type artifactAcc struct {
	a     ArtifactCount
	rules map[string]int
}

func newReportBuilder(o ReportOptions) *reportBuilder {
	width := bucketWidths[len(bucketWidths)-1]
	for _, w := range bucketWidths {
		if o.To.Sub(o.From) <= w*maxReportBuckets {
			width = w
			break
		}
	}
	n := int((o.To.Sub(o.From) + width - 1) / width)
	n = max(1, min(n, maxReportBuckets*4)) // a period longer than the widest buckets allow stays bounded
	b := &reportBuilder{
		o:        o,
		r:        Report{From: o.From.UTC(), To: o.To.UTC(), Generated: o.Now.UTC(), BucketWidth: width},
		subjects: map[string]bool{}, doors: map[string]int{}, envs: map[string]int{},
		gates: map[string][]int{}, rules: map[string][]int{},
		waivers: map[string]*waiverAcc{}, denied: map[string]*artifactAcc{},
	}
	for i := range n {
		b.r.Buckets = append(b.r.Buckets, o.From.Add(time.Duration(i)*width).UTC())
	}
	return b
}

func (b *reportBuilder) bucket(t time.Time) int {
	i := int(t.Sub(b.o.From) / b.r.BucketWidth)
	return max(0, min(i, len(b.r.Buckets)-1))
}

func subjectKey(s gates.Subject) string {
	k := string(s.Kind) + ":" + s.Ref
	if s.Digest != "" {
		k += "@" + s.Digest
	}
	return k
}

func (b *reportBuilder) add(e *Entry) {
	// The store filters by time; an entry outside the period (a store
	// whose bounds differ by a nanosecond) is not counted twice in two reports.
	if e.Time.Before(b.o.From) || !e.Time.Before(b.o.To) {
		return
	}
	b.r.Total++
	switch e.Verdict {
	case gates.VerdictAllowed:
		b.r.Allowed++
	case gates.VerdictDenied:
		b.r.Denied++
	default:
		b.r.NotDecided++
	}
	key := subjectKey(e.Subject)
	b.subjects[key] = true
	b.doors[cmp.Or(e.Door, "unknown")]++
	b.envs[cmp.Or(e.Environment, "none")]++
	for _, w := range e.Waived {
		b.addWaiver(w.Waiver, key)
	}
	if e.Verdict != gates.VerdictDenied {
		return
	}
	i := b.bucket(e.Time)
	seenGate, seenRule := map[string]bool{}, map[string]bool{}
	for _, v := range e.Violations {
		rule := v.Gate + "/" + v.Rule
		if !seenGate[v.Gate] {
			seenGate[v.Gate] = true
			b.count(b.gates, v.Gate, i)
		}
		if !seenRule[rule] {
			seenRule[rule] = true
			b.count(b.rules, rule, i)
		}
	}
	a := b.denied[key]
	if a == nil {
		a = &artifactAcc{a: ArtifactCount{Subject: string(e.Subject.Kind) + ":" + e.Subject.Ref, Digest: e.Subject.Digest}, rules: map[string]int{}}
		b.denied[key] = a
	}
	a.a.Denials++
	if e.Time.After(a.a.LastTime) {
		a.a.LastTime = e.Time.UTC()
	}
	for r := range seenRule {
		a.rules[r]++
	}
}

func (b *reportBuilder) count(m map[string][]int, name string, bucket int) {
	c := m[name]
	if c == nil {
		c = make([]int, len(b.r.Buckets))
		m[name] = c
	}
	c[bucket]++
}

func (b *reportBuilder) addWaiver(w gates.Waiver, subject string) {
	k := strings.Join([]string{w.Subject, w.Gate, w.Rule, w.Approver, w.Ticket, w.Reason, w.Expires.UTC().Format(time.RFC3339Nano)}, "\x00")
	acc := b.waivers[k]
	if acc == nil {
		acc = &waiverAcc{use: WaiverUse{Waiver: w}, subjects: map[string]bool{}}
		acc.use.InForce = w.Expires.After(b.o.Now)
		acc.use.ExpiringSoon = acc.use.InForce && w.Expires.Before(b.o.Now.Add(b.o.ExpiringWithin))
		b.waivers[k] = acc
	}
	acc.use.Uses++
	acc.subjects[subject] = true
}

func (b *reportBuilder) report() *Report {
	r := b.r
	r.Subjects = len(b.subjects)
	r.ByDoor = counts(b.doors)
	r.ByEnvironment = counts(b.envs)
	r.DenialsByGate = series(b.gates, b.o.Top, len(r.Buckets))
	r.DenialsByRule = series(b.rules, b.o.Top, len(r.Buckets))
	for _, acc := range b.waivers {
		acc.use.Subjects = len(acc.subjects)
		r.Waivers = append(r.Waivers, acc.use)
		if acc.use.InForce {
			r.InForce++
		}
		if acc.use.ExpiringSoon {
			r.ExpiringSoon++
		}
	}
	// Soonest expiry first: what needs renewing or removing leads.
	slices.SortFunc(r.Waivers, func(x, y WaiverUse) int {
		return cmp.Or(x.Waiver.Expires.Compare(y.Waiver.Expires), cmp.Compare(x.Waiver.Gate, y.Waiver.Gate), cmp.Compare(x.Waiver.Subject, y.Waiver.Subject))
	})
	for _, a := range b.denied {
		rules := counts(a.rules)
		for _, c := range rules {
			a.a.Rules = append(a.a.Rules, c.Name)
		}
		r.MostDenied = append(r.MostDenied, a.a)
	}
	slices.SortFunc(r.MostDenied, func(x, y ArtifactCount) int {
		return cmp.Or(cmp.Compare(y.Denials, x.Denials), cmp.Compare(x.Subject, y.Subject), cmp.Compare(x.Digest, y.Digest))
	})
	if len(r.MostDenied) > b.o.Top {
		r.MostDenied = r.MostDenied[:b.o.Top]
	}
	return &r
}

// counts sorts a tally largest first, then by name.
func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{k, v})
	}
	slices.SortFunc(out, func(a, b Count) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Name, b.Name)) })
	return out
}

// series sorts per-bucket tallies largest total first and folds all but
// the top n into one "other" series.
func series(m map[string][]int, top, buckets int) []Series {
	out := make([]Series, 0, len(m))
	for k, c := range m {
		s := Series{Name: k, Counts: c}
		for _, n := range c {
			s.Total += n
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b Series) int { return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Name, b.Name)) })
	if len(out) <= top {
		return out
	}
	other := Series{Name: fmt.Sprintf("other (%d more)", len(out)-top), Counts: make([]int, buckets)}
	for _, s := range out[top:] {
		other.Total += s.Total
		for i, n := range s.Counts {
			other.Counts[i] += n
		}
	}
	return append(out[:top], other)
}

//go:embed templates/report.html.tmpl
var reportFS embed.FS

var reportTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"chart": stackedChart,
	"color": seriesColor,
	"date":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"day":   func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"pct": func(n, total int) string {
		if total == 0 {
			return "0%"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
	},
	"join": strings.Join,
}).ParseFS(reportFS, "templates/report.html.tmpl"))

// WriteHTML renders the report as one self-contained HTML page: styles
// and charts (SVG) inline, no script and no external asset, every string
// from the log escaped by html/template.
func (r *Report) WriteHTML(w io.Writer) error {
	return reportTemplate.Execute(w, r)
}

// WriteReport builds the report of the period and writes it as HTML.
func WriteReport(ctx context.Context, s Store, w io.Writer, o ReportOptions) error {
	r, err := BuildReport(ctx, s, o)
	if err != nil {
		return err
	}
	return r.WriteHTML(w)
}

// palette colours the series of a chart (colour-blind safe, Okabe–Ito).
var palette = []string{"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000", "#999999", "#7F3C8D", "#11A579"}

func seriesColor(i int) string { return palette[i%len(palette)] }

// chartBar is one rectangle of a stacked bar chart.
type chartBar struct {
	X, Y, W, H float64
	Series     string
	Color      string
	Bucket     time.Time
	Count      int
}

// chartData is what the chart template draws.
type chartData struct {
	ID            string
	Width, Height float64
	PlotTop       float64
	PlotBottom    float64
	PlotLeft      float64
	Max           int
	Bars          []chartBar
	Ticks         []chartTick
	Labels        []chartTick
	Empty         bool
}

type chartTick struct {
	X, Y float64
	Text string
}

// stackedChart lays out one stacked bar per bucket, a segment per series;
// the template renders it as SVG. Geometry only: no outside string is
// placed here other than as template data.
func stackedChart(id string, buckets []time.Time, ss []Series) chartData {
	const w, h, left, top, bottom = 720.0, 240.0, 40.0, 10.0, 210.0
	d := chartData{ID: id, Width: w, Height: h, PlotTop: top, PlotBottom: bottom, PlotLeft: left}
	totals := make([]int, len(buckets))
	for _, s := range ss {
		for i, n := range s.Counts {
			totals[i] += n
		}
	}
	d.Max = slices.Max(append(totals, 0))
	if d.Max == 0 {
		d.Empty = true
		return d
	}
	slot := (w - left) / float64(len(buckets))
	barW := max(1, slot*0.8)
	scale := (bottom - top) / float64(d.Max)
	for i, b := range buckets {
		y := bottom
		for si, s := range ss {
			n := s.Counts[i]
			if n == 0 {
				continue
			}
			hh := float64(n) * scale
			y -= hh
			d.Bars = append(d.Bars, chartBar{X: left + float64(i)*slot + (slot-barW)/2, Y: y, W: barW, H: hh, Series: s.Name, Color: seriesColor(si), Bucket: b, Count: n})
		}
	}
	d.Ticks = []chartTick{{X: left - 4, Y: bottom, Text: "0"}, {X: left - 4, Y: top + 8, Text: fmt.Sprint(d.Max)}}
	// Date labels under the first, middle and last bars.
	for _, i := range slices.Compact([]int{0, len(buckets) / 2, len(buckets) - 1}) {
		d.Labels = append(d.Labels, chartTick{X: left + float64(i)*slot + slot/2, Y: h - 12, Text: buckets[i].Format("2006-01-02")})
	}
	return d
}
