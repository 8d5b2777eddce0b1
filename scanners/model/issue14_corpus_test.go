package model

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
	gen "github.com/gatehouse-dev/gatehouse/scanners/model/internal/corpus"
)

// TestGeneratedCorpus scans the generated labelled corpus (issue 14's classes) and
// prints a table per class: hostile denied for the right reason, benign
// flagged, malformed not verified. It asserts ≥ 97% of hostile denied for
// the right reason, no benign flagged and every malformed not verified.
func TestGeneratedCorpus(t *testing.T) {
	cases := gen.Cases(filepath.Join("jinja", "testdata", "benign"))
	type row struct{ hostile, denied, benign, flagged, malformed, notVerified int }
	rows := map[string]*row{}
	for _, c := range gen.Classes {
		rows[c] = &row{}
	}
	var failures []string
	for _, c := range cases {
		dir := t.TempDir()
		if err := c.Write(dir); err != nil {
			t.Fatal(err)
		}
		rep, err := Scan(context.Background(), dir, DefaultOptions())
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		v := rep.Verdict(finding.Medium)
		r := rows[c.Class]
		switch c.Label {
		case gen.Hostile:
			r.hostile++
			if v == VerdictFindings && rightReason(rep, c.Reason) {
				r.denied++
			} else {
				failures = append(failures, fmt.Sprintf("hostile %s / %s: verdict %d, findings %s", c.Class, c.Name, v, describe(rep)))
			}
		case gen.Benign:
			r.benign++
			if v != VerdictClean {
				r.flagged++
				failures = append(failures, fmt.Sprintf("benign %s / %s flagged: verdict %d, %s", c.Class, c.Name, v, describe(rep)))
			}
		case gen.Malformed:
			r.malformed++
			if v == VerdictNotVerified {
				r.notVerified++
			} else {
				failures = append(failures, fmt.Sprintf("malformed %s / %s: verdict %d, %s", c.Class, c.Name, v, describe(rep)))
			}
		}
	}
	var tot row
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-16s %18s %16s %20s\n", "class", "hostile denied", "benign flagged", "malformed not verif.")
	for _, c := range gen.Classes {
		r := rows[c]
		fmt.Fprintf(&b, "%-16s %12d / %-3d %10d / %-3d %14d / %-3d\n", c, r.denied, r.hostile, r.flagged, r.benign, r.notVerified, r.malformed)
		tot.hostile += r.hostile
		tot.denied += r.denied
		tot.benign += r.benign
		tot.flagged += r.flagged
		tot.malformed += r.malformed
		tot.notVerified += r.notVerified
	}
	fmt.Fprintf(&b, "%-16s %12d / %-3d %10d / %-3d %14d / %-3d\n", "total", tot.denied, tot.hostile, tot.flagged, tot.benign, tot.notVerified, tot.malformed)
	t.Log(b.String())
	for _, f := range failures {
		t.Log(f)
	}
	if tot.hostile == 0 || float64(tot.denied) < 0.97*float64(tot.hostile) {
		t.Errorf("hostile denied for the right reason: %d of %d, want ≥ 97%%", tot.denied, tot.hostile)
	}
	if tot.flagged > 0 {
		t.Errorf("%d benign case(s) flagged, want 0", tot.flagged)
	}
	if tot.notVerified != tot.malformed {
		t.Errorf("%d of %d malformed cases not verified, want all", tot.notVerified, tot.malformed)
	}
	if os.Getenv("GATEHOUSE_CORPUS_VERBOSE") != "" {
		fmt.Println(b.String())
	}
}

// rightReason: a finding at or above medium names the reason.
func rightReason(rep *Report, want string) bool {
	for _, f := range rep.Findings {
		if f.Severity < finding.Medium {
			continue
		}
		if want == "" || strings.Contains(f.Reason, want) || strings.Contains(f.Module+"."+f.Name, want) {
			return true
		}
	}
	return false
}

func describe(rep *Report) string {
	var parts []string
	for _, f := range rep.Findings {
		parts = append(parts, fmt.Sprintf("[%s %s %s.%s: %s]", f.Severity, f.Location, f.Module, f.Name, f.Reason))
	}
	for _, n := range rep.NotVerified {
		parts = append(parts, fmt.Sprintf("[unread %s: %s]", n.Location, n.Reason))
	}
	return strings.Join(parts, " ")
}
