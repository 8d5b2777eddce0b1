package detect

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/scanners/pii/internal/labelgen"
)

// claimedBefore are the entities docs/pii-scanner.md claimed before the
// national formats were added; the first goal is measured on them.
var claimedBefore = []string{"EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN", "IP_ADDRESS", "PERSON"}

type score struct{ tp, fp, fn int }

func (s score) precision() float64 {
	if s.tp+s.fp == 0 {
		return 1
	}
	return float64(s.tp) / float64(s.tp+s.fp)
}

func (s score) recall() float64 {
	if s.tp+s.fn == 0 {
		return 1
	}
	return float64(s.tp) / float64(s.tp+s.fn)
}

// measure scores the recognizers on samples: per entity, and the free-text
// PERSON separately (column "" or a note-like column without a person hint).
func measure(t *testing.T, samples []labelgen.Sample, verbose bool) map[string]*score {
	scores := map[string]*score{}
	get := func(e string) *score {
		if scores[e] == nil {
			scores[e] = &score{}
		}
		return scores[e]
	}
	shown := map[string]int{}
	for _, s := range samples {
		col := ColumnContext(s.Column)
		want := slices.Clone(s.Want)
		var got []string
		for _, m := range Scan(nil, []byte(s.Value), col) {
			got = append(got, m.Entity.String())
		}
		for _, g := range got {
			if k := slices.Index(want, g); k >= 0 {
				get(g).tp++
				want = slices.Delete(want, k, k+1)
			} else {
				get(g).fp++
				if verbose && shown[s.Kind] < 2 {
					shown[s.Kind]++
					t.Logf("false positive %s in %s: column %q value %q", g, s.Kind, s.Column, s.Value)
				}
			}
		}
		for _, w := range want {
			get(w).fn++
			if verbose && shown[s.Kind] < 2 {
				shown[s.Kind]++
				t.Logf("missed %s in %s: column %q value %q", w, s.Kind, s.Column, s.Value)
			}
		}
	}
	return scores
}

func table(scores map[string]*score) string {
	var names []string
	for e := range scores {
		names = append(names, e)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-22s %6s %6s %6s %9s %7s\n", "entity", "tp", "fp", "fn", "precision", "recall")
	var all score
	for _, e := range names {
		s := scores[e]
		fmt.Fprintf(&b, "%-22s %6d %6d %6d %9.3f %7.3f\n", e, s.tp, s.fp, s.fn, s.precision(), s.recall())
		all.tp += s.tp
		all.fp += s.fp
		all.fn += s.fn
	}
	fmt.Fprintf(&b, "%-22s %6d %6d %6d %9.3f %7.3f\n", "ALL", all.tp, all.fp, all.fn, all.precision(), all.recall())
	return b.String()
}

func sum(scores map[string]*score, names []string) score {
	var s score
	for _, e := range names {
		if x := scores[e]; x != nil {
			s.tp += x.tp
			s.fp += x.fp
			s.fn += x.fn
		}
	}
	return s
}

// TestGenerated measures precision and recall per entity on the labelled
// generated set (international formats, free text in five languages,
// nested JSON paths, decoys) and asserts the goals: on the entities
// claimed before, precision and recall ≥ 0.98; on all personal data,
// recall ≥ 0.90; every entity's precision ≥ 0.95.
func TestGenerated(t *testing.T) {
	samples := labelgen.Generate(1, 60)
	scores := measure(t, samples, testing.Verbose())
	t.Logf("%d labelled values%s", len(samples), table(scores))
	claimed := sum(scores, claimedBefore)
	var allNames []string
	for e := range scores {
		if ent, ok := ParseEntity(e); !ok || !ent.Secret() {
			allNames = append(allNames, e)
		}
	}
	all := sum(scores, allNames)
	t.Logf("claimed entities: precision %.3f recall %.3f; all personal data: precision %.3f recall %.3f",
		claimed.precision(), claimed.recall(), all.precision(), all.recall())
	if claimed.precision() < 0.98 || claimed.recall() < 0.98 {
		t.Errorf("claimed entities: precision %.3f recall %.3f, want ≥ 0.98 both", claimed.precision(), claimed.recall())
	}
	if all.recall() < 0.90 {
		t.Errorf("all personal data: recall %.3f, want ≥ 0.90", all.recall())
	}
	for e, s := range scores {
		if s.precision() < 0.95 {
			t.Errorf("%s: precision %.3f, want ≥ 0.95", e, s.precision())
		}
	}
}

// TestGeneratedUnseenSeed runs a different seed: the goals hold on
// values the rules were not tuned on.
func TestGeneratedUnseenSeed(t *testing.T) {
	scores := measure(t, labelgen.Generate(99, 40), false)
	var names []string
	for e := range scores {
		names = append(names, e)
	}
	all := sum(scores, names)
	t.Logf("seed 99: precision %.3f recall %.3f", all.precision(), all.recall())
	if all.precision() < 0.97 || all.recall() < 0.90 {
		t.Errorf("seed 99: precision %.3f recall %.3f, want ≥ 0.97 and ≥ 0.90", all.precision(), all.recall())
	}
}
