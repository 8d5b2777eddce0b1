package license

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/licensecheck"
	classifier "github.com/google/licenseclassifier/v2"
	"github.com/google/licenseclassifier/v2/assets"
)

// TestCompareDetectors measures gatehouse's detector beside licensecheck
// v0.3.1 (what gatehouse used before) and licenseclassifier v2.0.0 on the
// SPDX list's texts, pristine and as shipped (perturb), with the same
// judge. Slow (licenseclassifier takes seconds per large text on a loaded
// machine): set GATEHOUSE_LICENSE_COMPARE=1 to run it.
func TestCompareDetectors(t *testing.T) {
	if os.Getenv("GATEHOUSE_LICENSE_COMPARE") == "" {
		t.Skip("set GATEHOUSE_LICENSE_COMPARE=1 to compare with licensecheck and licenseclassifier (slow)")
	}
	texts := readSPDXList(t, spdxTextsDir(t))
	allow, deny := policyLists(t)
	t0 := time.Now()
	lc, err := assets.DefaultClassifier()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("licenseclassifier: corpus loaded in %v", time.Since(t0))
	t0 = time.Now()
	licensecheck.Scan([]byte("warm up"))
	t.Logf("licensecheck: matcher built in %v", time.Since(t0))
	t0 = time.Now()
	Detect([]byte("warm up"), 75)
	t.Logf("gatehouse: index loaded in %v", time.Since(t0))
	detectors := map[string]func([]byte) []Detected{
		"gatehouse": func(b []byte) []Detected { return Detect(b, 75) },
		"licensecheck v0.3.1": func(b []byte) []Detected {
			var out []Detected
			for _, m := range licensecheck.Scan(b).Match {
				if !slices.ContainsFunc(out, func(d Detected) bool { return d.ID == m.ID }) {
					out = append(out, Detected{ID: m.ID})
				}
			}
			return out
		},
		"licenseclassifier v2.0.0": func(b []byte) []Detected {
			var out []Detected
			for _, m := range lc.Match(b).Matches {
				if m.MatchType == "License" && !slices.ContainsFunc(out, func(d Detected) bool { return d.ID == m.Name }) {
					out = append(out, Detected{ID: m.Name})
				}
			}
			return out
		},
	}
	byNorm := map[string][]string{}
	for _, lt := range texts {
		k := normKey(lt.text)
		byNorm[k] = append(byNorm[k], lt.id)
	}
	var rows []string
	for _, name := range []string{"gatehouse", "licensecheck v0.3.1", "licenseclassifier v2.0.0"} {
		det := detectors[name]
		for _, variant := range []string{"pristine", "as shipped"} {
			all, common := tally{}, tally{}
			dangerous := 0
			var d time.Duration
			for _, lt := range texts {
				text := lt.text
				if variant == "as shipped" {
					text = perturb(text)
				}
				same := map[string]bool{}
				for _, id := range byNorm[normKey(lt.text)] {
					same[id], same[Normalize(id)] = true, true
				}
				start := time.Now()
				got := det([]byte(text))
				d += time.Since(start)
				o := judge(lt.id, got, same)
				all[o]++
				if slices.Contains(commonSet, lt.id) {
					common[o]++
				}
				if o == outWrong && isDangerous(allow, deny, lt.id, got) {
					dangerous++
				}
			}
			rows = append(rows, fmt.Sprintf("| %s | %s | %d | %d | %d | %d | %d/%d | %d | %.1f |", name, variant,
				all[outExact], all[outEquivalent], all[outWrong], all[outUnknown], common[outExact], len(commonSet), dangerous,
				float64(d.Microseconds())/1000/float64(len(texts))))
		}
	}
	t.Logf("SPDX License List 3.28.0, %d texts\n| detector | texts | exact | equivalent | wrong | unknown | common exact | dangerous | ms/text |\n|---|---|---|---|---|---|---|---|---|\n%s", len(texts), strings.Join(rows, "\n"))
}

func normKey(text string) string {
	return fmt.Sprint(len(text), strings.Join(strings.Fields(strings.ToLower(text)), " "))
}

var _ = classifier.NewClassifier
