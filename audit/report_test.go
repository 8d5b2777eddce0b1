package audit

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/gatehouse-dev/gatehouse/gates"
)

// reportFixture appends a known set of decisions over three days and
// returns the store and the period's start.
func reportFixture(t *testing.T) (Store, time.Time) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	evil := gates.Subject{Kind: gates.KindModel, Ref: `models/<script>alert("x")</script>`, Digest: "sha256:aaaa"}
	api := gates.Subject{Kind: gates.KindImage, Ref: "ghcr.io/acme/api", Digest: "sha256:bbbb"}
	web := gates.Subject{Kind: gates.KindImage, Ref: "ghcr.io/acme/web", Digest: "sha256:cccc"}
	soon := gates.Waiver{Subject: "ghcr.io/acme/*", Gate: "sonarqube", Rule: "coverage", Reason: "fixed next <b>release</b>", Approver: "alice@example.com", Ticket: "SEC-7", Expires: day.AddDate(0, 0, 20)}
	later := gates.Waiver{Subject: "ghcr.io/acme/web", Gate: "signature", Reason: "signing key rotation", Approver: "bob@example.com", Ticket: "SEC-9", Expires: day.AddDate(1, 0, 0)}
	gone := gates.Waiver{Subject: "models/*", Gate: "license", Reason: "old", Approver: "carol@example.com", Ticket: "SEC-1", Expires: day.AddDate(0, 0, 1)}
	deny := func(gate, rule string) gates.Finding {
		return gates.Finding{Gate: gate, Rule: rule, Severity: "high", Message: "m"}
	}
	entries := []Entry{
		// Day 1: evil denied by two gates, api allowed with a waiver.
		{Time: day.Add(1 * time.Hour), Door: DoorCheck, Subject: evil, Environment: "prod", Verdict: gates.VerdictDenied,
			Violations: []gates.Finding{deny("model_scan", "unsafe_pickle"), deny("model_scan", "unsafe_pickle"), deny("license", "unknown_license")}},
		{Time: day.Add(2 * time.Hour), Door: DoorCheck, Subject: api, Environment: "prod", Verdict: gates.VerdictAllowed, Allowed: true,
			Waived: []gates.AppliedWaiver{{Finding: deny("sonarqube", "coverage"), Waiver: soon}}},
		// Day 2: evil denied again, web denied, one not decided, the old waiver.
		{Time: day.Add(25 * time.Hour), Door: DoorAdmission, Subject: evil, Environment: "prod", Namespace: "ml", Verdict: gates.VerdictDenied,
			Violations: []gates.Finding{deny("model_scan", "unsafe_pickle")}, Waived: []gates.AppliedWaiver{{Finding: deny("license", "x"), Waiver: gone}}},
		{Time: day.Add(26 * time.Hour), Door: DoorAdmission, Subject: web, Environment: "dev", Verdict: gates.VerdictDenied,
			Violations: []gates.Finding{deny("sonarqube", "quality_gate")}, Waived: []gates.AppliedWaiver{{Finding: deny("signature", "unsigned"), Waiver: later}}},
		{Time: day.Add(27 * time.Hour), Door: DoorCheck, Subject: web, Environment: "dev", Verdict: gates.VerdictNotDecided, Undecided: []string{"sonarqube unreachable"}},
		// Day 3: api allowed with the same waiver again.
		{Time: day.Add(49 * time.Hour), Door: DoorCheck, Subject: api, Environment: "prod", Verdict: gates.VerdictAllowed, Allowed: true,
			Waived: []gates.AppliedWaiver{{Finding: deny("sonarqube", "coverage"), Waiver: soon}}},
		// Outside the period: counted nowhere.
		{Time: day.AddDate(0, 0, 5), Door: DoorCheck, Subject: web, Environment: "dev", Verdict: gates.VerdictDenied, Violations: []gates.Finding{deny("sonarqube", "quality_gate")}},
		{Time: day.Add(-time.Second), Door: DoorCheck, Subject: web, Environment: "dev", Verdict: gates.VerdictDenied, Violations: []gates.Finding{deny("sonarqube", "quality_gate")}},
	}
	for _, e := range entries {
		if _, err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	return s, day
}

func TestBuildReport(t *testing.T) {
	s, day := reportFixture(t)
	r, err := BuildReport(context.Background(), s, ReportOptions{From: day, To: day.AddDate(0, 0, 3), Now: day.AddDate(0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 6 || r.Allowed != 2 || r.Denied != 3 || r.NotDecided != 1 || r.Subjects != 3 {
		t.Errorf("counts: total %d allowed %d denied %d not decided %d subjects %d; want 6 2 3 1 3", r.Total, r.Allowed, r.Denied, r.NotDecided, r.Subjects)
	}
	if r.BucketWidth != 3*time.Hour || len(r.Buckets) != 24 {
		t.Errorf("buckets: %d of %s, want 24 of 3h", len(r.Buckets), r.BucketWidth)
	}
	got := map[string]int{}
	for _, s := range r.DenialsByGate {
		got["gate "+s.Name] = s.Total
	}
	for _, s := range r.DenialsByRule {
		got["rule "+s.Name] = s.Total
	}
	want := map[string]int{
		"gate model_scan": 2, "gate license": 1, "gate sonarqube": 1,
		"rule model_scan/unsafe_pickle": 2, "rule license/unknown_license": 1, "rule sonarqube/quality_gate": 1,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("denials (-want +got):\n%s", d)
	}
	if g := r.DenialsByGate[0]; g.Name != "model_scan" || g.Counts[0] != 1 || g.Counts[8] != 1 {
		t.Errorf("model_scan per bucket: %+v, want 1 in bucket 0 and 1 in bucket 8", g)
	}
	if r.InForce != 2 || r.ExpiringSoon != 1 || len(r.Waivers) != 3 {
		t.Errorf("waivers: %d in force, %d expiring, %d listed; want 2, 1, 3", r.InForce, r.ExpiringSoon, len(r.Waivers))
	}
	if w := r.Waivers[0]; w.Waiver.Ticket != "SEC-1" || w.InForce {
		t.Errorf("first waiver %+v, want the expired SEC-1", w)
	}
	if w := r.Waivers[1]; w.Waiver.Ticket != "SEC-7" || w.Uses != 2 || w.Subjects != 1 || !w.ExpiringSoon {
		t.Errorf("second waiver %+v, want SEC-7 used twice on one artifact, expiring soon", w)
	}
	if len(r.MostDenied) != 2 || r.MostDenied[0].Denials != 2 || r.MostDenied[0].Digest != "sha256:aaaa" ||
		!cmp.Equal(r.MostDenied[0].Rules, []string{"model_scan/unsafe_pickle", "license/unknown_license"}) {
		t.Errorf("most denied: %+v", r.MostDenied)
	}
}

func TestBuildReportRefusesBadPeriod(t *testing.T) {
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, o := range []ReportOptions{{}, {From: day}, {From: day, To: day}, {From: day, To: day.Add(-time.Hour)}} {
		if _, err := BuildReport(context.Background(), nil, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

// TestReportHTML renders the report, parses the page as a browser would
// and reads the numbers back: the summary cards, the chart bars (their
// data-count sums to each gate's denials), the waiver statuses; outside
// strings come out as text, never as markup, and nothing is loaded from
// elsewhere.
func TestReportHTML(t *testing.T) {
	s, day := reportFixture(t)
	var buf bytes.Buffer
	if err := WriteReport(context.Background(), s, &buf, ReportOptions{From: day, To: day.AddDate(0, 0, 3), Now: day.AddDate(0, 0, 2)}); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*html.Node{}
	var scripts, external []string
	barSums := map[string]map[string]int{} // chart id -> series -> sum of data-count
	var statuses []string
	var walk func(n *html.Node, chart string)
	walk = func(n *html.Node, chart string) {
		if n.Type == html.ElementNode {
			if id := reportAttr(n, "id"); id != "" {
				byID[id] = n
			}
			switch n.Data {
			case "script":
				scripts = append(scripts, reportText(n))
			case "svg":
				chart = reportAttr(n, "id")
			case "rect":
				c, err := strconv.Atoi(reportAttr(n, "data-count"))
				if err != nil {
					t.Errorf("bar without a count: %v", n.Attr)
				}
				if barSums[chart] == nil {
					barSums[chart] = map[string]int{}
				}
				barSums[chart][reportAttr(n, "data-series")] += c
			case "tr":
				if st := reportAttr(n, "data-status"); st != "" {
					statuses = append(statuses, st)
				}
			}
			for _, a := range n.Attr {
				if (a.Key == "src" || a.Key == "href") && a.Val != "" {
					external = append(external, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, chart)
		}
	}
	walk(doc, "")
	if len(scripts) > 0 || len(external) > 0 {
		t.Errorf("the page runs or loads something: scripts %q, links %q", scripts, external)
	}
	for id, want := range map[string]string{"total": "6", "allowed": "2", "denied": "3", "not-decided": "1", "subjects": "3", "waivers-in-force": "2", "waivers-expiring": "1"} {
		if n := byID[id]; n == nil || strings.TrimSpace(reportText(n)) != want {
			t.Errorf("#%s = %q, want %s", id, reportText(byID[id]), want)
		}
	}
	wantBars := map[string]map[string]int{
		"chart-gates": {"model_scan": 2, "license": 1, "sonarqube": 1},
		"chart-rules": {"model_scan/unsafe_pickle": 2, "license/unknown_license": 1, "sonarqube/quality_gate": 1},
	}
	if d := cmp.Diff(wantBars, barSums); d != "" {
		t.Errorf("chart bars (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"expired", "expiring", "in-force"}, statuses); d != "" {
		t.Errorf("waiver statuses (-want +got):\n%s", d)
	}
	md := byID["most-denied"]
	if md == nil || !strings.Contains(reportText(md), `models/<script>alert("x")</script>`) {
		t.Errorf("most denied table lacks the hostile name as text: %q", reportText(md))
	}
	if strings.Contains(buf.String(), "<script>") || strings.Contains(buf.String(), "<b>release") {
		t.Error("an outside string reached the page as markup")
	}
}

func TestReportHTMLEmptyPeriod(t *testing.T) {
	s, day := reportFixture(t)
	var buf bytes.Buffer
	if err := WriteReport(context.Background(), s, &buf, ReportOptions{From: day.AddDate(1, 0, 0), To: day.AddDate(1, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="total">0<`, "No denials in the period.", "No waiver was used.", "Nothing was denied."} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("empty report lacks %q", want)
		}
	}
}

func TestStackedChartBounds(t *testing.T) {
	buckets := make([]time.Time, 60)
	ss := []Series{{Name: "a", Counts: make([]int, 60)}, {Name: "b", Counts: make([]int, 60)}}
	ss[0].Counts[0], ss[1].Counts[0], ss[0].Counts[59] = 3, 1, 2
	d := stackedChart("c", buckets, ss)
	if d.Max != 4 || len(d.Bars) != 3 {
		t.Fatalf("max %d bars %d, want 4 and 3", d.Max, len(d.Bars))
	}
	for _, b := range d.Bars {
		if b.X < d.PlotLeft || b.X+b.W > d.Width || b.Y < d.PlotTop-0.001 || b.Y+b.H > d.PlotBottom+0.001 {
			t.Errorf("bar outside the plot: %+v", b)
		}
	}
	if top := d.Bars[1]; top.Y != d.PlotTop {
		t.Errorf("the tallest stack does not reach the top: %+v", top)
	}
}

func reportAttr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func reportText(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// BenchmarkBuildReport reads and summarises a month of 20,000 decisions
// (a third denied) from SQLite.
func BenchmarkBuildReport(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const n = 20000
	for i := range n {
		e := Entry{Time: start.Add(time.Duration(i) * (30 * 24 * time.Hour / n)), Door: DoorCheck, Environment: "prod", Verdict: gates.VerdictAllowed,
			Subject: gates.Subject{Kind: gates.KindImage, Ref: "ghcr.io/acme/app-" + strconv.Itoa(i%50), Digest: "sha256:" + strconv.Itoa(i%500)}}
		if i%3 == 0 {
			e.Verdict = gates.VerdictDenied
			e.Violations = []gates.Finding{{Gate: "gate" + strconv.Itoa(i%7), Rule: "rule" + strconv.Itoa(i%13)}}
		}
		if _, err := s.Append(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		r, err := BuildReport(ctx, s, ReportOptions{From: start, To: start.AddDate(0, 1, 0)})
		if err != nil || r.Total != n {
			b.Fatalf("%v, %d decisions", err, r.Total)
		}
		if err := r.WriteHTML(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}
